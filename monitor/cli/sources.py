"""Articles from what a user points ``newsmon test-rules`` at: a feed, a web page, a text file.

A source is a path, an http(s) URL, or ``-`` for standard input. What it holds is sniffed from
its first bytes and its content type: a feed gives one article per entry, an HTML page one
article (title from ``og:title``, ``<title>`` or the first ``<h1>``; language from
``<html lang>``), plain text one article whose first line is the title.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.base.errors import FetchError, MonitorError
from monitor.base.settings import FeedPolicy, FeedSpec, Settings
from monitor.base.text import html_to_text
from monitor.base.types import ParsedEntry
from monitor.stages.fetch import Fetcher, make_session
from monitor.stages.parse import parse_feed

if TYPE_CHECKING:
    from monitor.flow.pages import PageOutcome

MAX_SOURCE = 20 * 1024 * 1024


class SourceError(MonitorError):
    """A source given to test-rules could not be read."""


@dataclass(frozen=True)
class Source:
    name: str
    body: bytes
    content_type: str = ""


async def read_source(name: str, *, deadline: float = 30.0, allow_private: bool = False) -> Source:
    """The bytes behind ``name`` (a path, a URL, or ``-``)."""
    if name == "-":
        return Source("<stdin>", sys.stdin.buffer.read(MAX_SOURCE))
    if name.startswith(("http://", "https://")):
        session = make_session(concurrency=2, per_host=2, user_agent=None)
        try:
            result = await Fetcher(session, MAX_SOURCE).fetch(
                name, etag=None, last_modified=None, deadline=deadline, allow_private=allow_private
            )
        except FetchError as e:
            raise SourceError(str(e)) from e
        finally:
            await session.close()
        return Source(result.url, result.body or b"", result.headers.get("content-type", ""))
    return await asyncio.to_thread(_read_file, name)


def _read_file(name: str) -> Source:
    try:
        with Path(name).open("rb") as handle:
            return Source(name, handle.read(MAX_SOURCE))
    except OSError as e:
        raise SourceError(f"{name}: {e.strerror or e}") from e


def sniff(source: Source) -> str:
    """``feed``, ``html`` or ``text``."""
    head = source.body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    content_type = source.content_type.lower()
    if any(k in content_type for k in ("rss", "atom", "xml", "json")):
        return "feed"
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf")) or head.startswith(b"{"):
        return "feed"
    if "html" in content_type or source.name.lower().endswith((".html", ".htm")):
        return "html"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    return "text"


class _PageInfo(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.og_title: str | None = None
        self.canonical: str | None = None
        self.title = ""
        self.h1 = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html" and values.get("lang"):
            self.lang = values["lang"]
        elif tag == "meta" and values.get("property") == "og:title":
            self.og_title = values.get("content")
        elif tag == "link" and values.get("rel") == "canonical":
            self.canonical = values.get("href")
        elif tag in ("title", "h1") and not getattr(self, tag):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


def _decode(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def html_entry(html: str, url: str | None) -> ParsedEntry:
    info = _PageInfo()
    info.feed(html)
    title = " ".join((info.og_title or info.title or info.h1 or "").split())
    start = html.lower().find("<article")
    end = html.lower().rfind("</article>")
    body = html[start : end + 10] if 0 <= start < end else html
    text = html_to_text(body)
    if title and text.startswith(title):
        text = text[len(title) :].lstrip()
    return ParsedEntry(None, info.canonical or url, title, "", text, None, info.lang)


def text_entry(text: str) -> ParsedEntry:
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    return ParsedEntry(None, None, title, "", "\n".join(lines[1:]).strip(), None)


def entries_from(source: Source) -> list[ParsedEntry]:
    """The articles a source holds; raises ParseError for a feed that cannot be read."""
    kind = sniff(source)
    url = source.name if source.name.startswith(("http://", "https://")) else None
    if kind == "feed":
        headers = {"content-type": source.content_type} if source.content_type else {}
        return list(parse_feed(source.body, url or "file:" + source.name, headers).entries)
    if kind == "html":
        return [html_entry(_decode(source.body), url)]
    return [text_entry(_decode(source.body))]


async def read_pages(
    entries: list[ParsedEntry], settings: Settings, *, allow_private: bool, source: str
) -> list[tuple[ParsedEntry, PageOutcome | None]]:
    """Each entry with its article page read as the daemon reads it (robots.txt, the address
    guard, the extractor), its content the page's text when one was kept (``--full-text``)."""
    from monitor.flow.fulltext import feed_text
    from monitor.flow.pages import PageReader

    defaults = settings.defaults
    session = make_session(
        concurrency=4, per_host=defaults.per_host, user_agent=defaults.user_agent
    )
    from monitor.stages.proxy import proxy_routes

    fetcher = Fetcher(session, defaults.max_body, defaults.per_host, proxy_routes(defaults))
    reader = PageReader(fetcher)
    spec = settings.feeds_by_url.get(source) or FeedSpec(
        url=source if "://" in source else "http://-"
    )
    policy = replace(FeedPolicy.resolve(settings, spec), allow_private=allow_private)
    try:
        outcomes = await asyncio.gather(
            *(reader.read(entry.link, policy, feed_text(entry)) for entry in entries if entry.link)
        )
    finally:
        await session.close()
    pages = iter(outcomes)
    read: list[tuple[ParsedEntry, PageOutcome | None]] = []
    for entry in entries:
        page = next(pages) if entry.link else None
        if page is not None and page.text is not None:
            entry = replace(entry, content=page.text)
        read.append((entry, page))
    return read
