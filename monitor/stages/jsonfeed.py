"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) read into the same :class:`ParsedFeed`
as RSS and Atom; feedparser does not read JSON Feed.

Only the fields newsmon uses are read: ``id`` (the GUID), ``url`` (else ``external_url``),
``title``, ``summary``, ``content_html`` (turned into text) or ``content_text``,
``date_published`` (else ``date_modified``), ``language`` and ``authors`` (1.1) or ``author``
(1.0). Items that are not objects are skipped; anything else unexpected is a :class:`ParseError`.
"""

from __future__ import annotations

import codecs
import json
from datetime import UTC, datetime
from typing import Any

from monitor.base.errors import NotAFeed, ParseError
from monitor.base.text import html_to_text
from monitor.base.types import ParsedEntry, ParsedFeed

VERSION_PREFIX = "https://jsonfeed.org/version/1"


def looks_like_json(body: bytes) -> bool:
    """True when the body's first character is ``{``: JSON, not XML or HTML."""
    return body.removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"{"


def _string(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # JSON Feed 1.0 producers sometimes give numeric ids
    return None


def _plain(value: Any) -> str:
    return " ".join((_string(value) or "").split())


def _date(value: Any) -> datetime | None:
    text = _string(value)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    if isinstance(authors, list):
        names = [_string(a.get("name")) for a in authors if isinstance(a, dict)]
        found = [n for n in names if n]
        if found:
            return ", ".join(found)
    author = item.get("author")
    return _string(author.get("name")) if isinstance(author, dict) else None


def _entry(item: dict[str, Any], language: str | None) -> ParsedEntry:
    html = _string(item.get("content_html"))
    content = html_to_text(html) if html else (_string(item.get("content_text")) or "")
    return ParsedEntry(
        guid=_string(item.get("id")),
        link=_string(item.get("url")) or _string(item.get("external_url")),
        title=_plain(item.get("title")),
        summary=_plain(item.get("summary")),
        content=content,
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
        language=(_string(item.get("language")) or "").lower() or language,
        author=_author(item),
    )


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """Read a JSON Feed; raise :class:`ParseError` when it is broken or not a JSON Feed."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise ParseError(url, f"broken JSON Feed: {e}", kind="broken_feed") from None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise NotAFeed(url, "not a feed: JSON, but not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items", [])
    if not isinstance(items, list):
        raise ParseError(url, "broken JSON Feed: 'items' is not a list", kind="broken_feed")
    language = (_string(data.get("language")) or "").lower() or None
    return ParsedFeed(
        title=_string(data.get("title")),
        link=_string(data.get("home_page_url")),
        language=language,
        entries=tuple(_entry(item, language) for item in items if isinstance(item, dict)),
    )
