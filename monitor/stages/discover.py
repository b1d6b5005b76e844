"""Feed autodiscovery: which feeds an HTML page announces with ``<link rel="alternate">``.

Users paste a site's home page or an article URL where a feed URL belongs; the page usually says
where its feed is (RSS Autodiscovery, https://www.rssboard.org/rss-autodiscovery). Pure
functions: the caller fetches.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
    }
)
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(!doctype\s+html|html)\b", re.DOTALL
)
# The first element after the prolog (comments, processing instructions, a doctype).
_ROOT = re.compile(
    rb"(?:\s|<\?.*?\?>|<!--.*?-->|<!doctype[^>\[]*(?:\[.*?\])?\s*>)*<([\w:.-]+)", re.DOTALL
)
_FEED_ROOTS = frozenset({b"rss", b"feed", b"rdf:rdf", b"rdf"})


@dataclass(frozen=True)
class FeedLink:
    """One feed a page links to."""

    url: str
    type: str
    title: str | None = None


class _EndOfHead(Exception):
    """Raised to stop parsing at ``<body>``: feed links belong in the head."""


class _LinkFinder(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[FeedLink] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            raise _EndOfHead
        values = {name: (value or "") for name, value in attrs}
        if tag == "base" and values.get("href"):
            self.base = urljoin(self.base, values["href"].strip())
            return
        if tag != "link" or "alternate" not in values.get("rel", "").lower().split():
            return
        kind = values.get("type", "").split(";")[0].strip().lower()
        href = values.get("href", "").strip()
        if kind in FEED_TYPES and href:
            url = urljoin(self.base, href)
            if urlsplit(url).scheme in ("http", "https"):
                self.links.append(FeedLink(url, kind, values.get("title") or None))


def looks_like_html(body: bytes) -> bool:
    """True when the body starts as an HTML document does (a doctype or ``<html>``), unless its
    first element is a feed's (``<rss>``, ``<feed>``, ``<rdf:RDF>``): some feeds carry a bogus
    XHTML doctype, and a feed they stay."""
    head = body[:4096].removeprefix(codecs.BOM_UTF8).lower()
    if _HTML_START.match(head) is None:
        return False
    root = _ROOT.match(head)
    return root is None or root[1] not in _FEED_ROOTS


def find_feed_links(page: bytes, url: str) -> list[FeedLink]:
    """The feeds ``page`` (fetched from ``url``) links to, in page order, without repeats."""
    finder = _LinkFinder(url)
    try:
        finder.feed(page.decode("utf-8", errors="replace"))
        finder.close()
    except _EndOfHead:
        pass
    seen: set[str] = set()
    unique = []
    for link in finder.links:
        if link.url not in seen:
            seen.add(link.url)
            unique.append(link)
    return unique
