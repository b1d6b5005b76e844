"""An article page's main text, as a rule should read it: trafilatura keeps the article and
drops the navigation, related links, comments and footer around it.

trafilatura (Apache-2.0) was measured on article pages built as news sites serve them (50 to
300 KB, the seed article among heavy scripts, navigation and a "Berita terkait" box): 5 to
8 ms a page here, the article kept whole and none of its surroundings. It is imported on first
use, in the parse workers, so that a daemon whose feeds carry whole articles never loads it.
Extraction runs in the parse pool like a feed parse, under its deadline and memory cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from monitor.base.errors import ParseError

TARGET = "monitor.stages.extract:extract_page"
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class PageText:
    """What the extractor kept of a page: its main text (paragraphs on their own lines)."""

    text: str
    title: str | None = None


def extract_page(body: bytes, url: str, headers: Mapping[str, str]) -> PageText:
    """The page's main text; :class:`ParseError` (kind ``no_article``) when it has none."""
    kind = headers.get("content-type", "text/html").split(";")[0].strip().lower()
    if kind and kind not in HTML_TYPES:
        raise ParseError(url, f"the page is {kind}, not HTML", kind="not_html")
    try:
        import trafilatura
    except ImportError as e:  # pragma: no cover - a core dependency
        raise ParseError(url, f"trafilatura is not installed ({e})", kind="no_extractor") from e
    document = trafilatura.bare_extraction(
        body,
        url=url,
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
        with_metadata=True,
    )
    text = (getattr(document, "text", None) or "").strip() if document is not None else ""
    if not text:
        raise ParseError(url, "the page has no article text", kind="no_article")
    title = getattr(document, "title", None)
    return PageText(text, title if isinstance(title, str) else None)
