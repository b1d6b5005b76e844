"""Parsing feed bodies with feedparser, in a process pool, into plain data.

feedparser is given bytes wrapped in ``BytesIO``, never a string: a string that looks like a path
or URL would be opened or fetched by feedparser itself. Parsing is CPU-bound (tens of ms per feed,
seconds for bad ones), so it runs in worker processes: the event loop keeps polling and
delivering while a feed is parsed, and both cores are used.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.rules.text import html_to_text
from monitor.types import ParsedEntry, ParsedFeed

# Bozo exceptions after which feedparser still read the document correctly.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _text(detail: Mapping[str, Any] | None, value: str | None) -> str:
    if not value:
        return ""
    if detail is not None and detail.get("type") == "text/plain":
        return " ".join(value.split())
    return html_to_text(value)


def _date(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return None


def _entry(raw: Mapping[str, Any], language: str | None) -> ParsedEntry:
    contents = [_text(c, c.get("value")) for c in raw.get("content", ()) if c.get("value")]
    summary = _text(raw.get("summary_detail"), raw.get("summary"))
    content = "\n\n".join(dict.fromkeys(c for c in contents if c))
    title_detail = raw.get("title_detail") or {}
    return ParsedEntry(
        guid=(raw.get("id") or None),
        link=(raw.get("link") or None),
        title=_text(title_detail, raw.get("title")),
        summary=summary if summary != content else "",
        content=content,
        published=_date(raw),
        language=title_detail.get("language") or language,
        author=raw.get("author") or None,
    )


def parse_feed(body: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse a feed body; raise :class:`ParseError` when it is not a feed at all."""
    if not body.strip():
        raise ParseError(url, "empty response body")
    response_headers = {k.lower(): v for k, v in headers.items()}
    response_headers.setdefault("content-location", url)
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=False,  # we keep text only; sinks escape what they send
        resolve_relative_uris=False,
    )
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not result.get("version") and not result.entries:
        kind = response_headers.get("content-type", "no content type")
        raise ParseError(url, f"not a feed: neither RSS nor Atom ({kind})")
    if problem is not None and not result.entries and not isinstance(problem, _HARMLESS):
        raise ParseError(url, f"broken feed: {type(problem).__name__}: {problem}")
    feed = result.feed
    language = (feed.get("language") or "").strip().lower() or None
    warning = None
    if problem is not None and not isinstance(problem, _HARMLESS):
        warning = f"feed is not well-formed, read leniently: {problem}"
    return ParsedFeed(
        title=feed.get("title") or None,
        link=feed.get("link") or None,
        language=language,
        entries=tuple(_entry(raw, language) for raw in result.entries),
        warning=warning,
    )


def make_parse_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """Worker processes started by a fork server: safe beside the threads of aiosqlite."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["monitor.parse"])
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 2, mp_context=context)


async def parse_in(
    executor: Executor | None, body: bytes, url: str, headers: Mapping[str, str], deadline: float
) -> ParsedFeed:
    """Parse in ``executor`` (None = the calling thread) within ``deadline`` seconds."""
    if executor is None:
        return parse_feed(body, url, headers)
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(executor, parse_feed, body, url, dict(headers))
    try:
        return await asyncio.wait_for(future, deadline)
    except TimeoutError as e:
        raise ParseError(url, f"parsing took longer than {deadline:g}s") from e
