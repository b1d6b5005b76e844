"""Alert ids and payloads: what a receiver gets, and the key that makes a second alert impossible.

The id is derived from (sink, rule, feed, entry identity, revision), so the same story can only
ever produce the same id: the outbox's unique constraint refuses a second row, and a receiver can
drop a repeated delivery by its ``webhook-id``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from monitor.config.schema import FeedSpec, RuleSpec
from monitor.rules import Article, Match
from monitor.types import EntryChange

PAYLOAD_VERSION = 1
MAX_SUMMARY = 600
MAX_HITS = 20


def alert_id(sink: str, rule_id: str, feed_url: str, entry_key: str, revision: int = 0) -> str:
    parts = "\x1f".join((sink, rule_id, feed_url, entry_key, str(revision)))
    return "msg_" + hashlib.sha256(parts.encode()).hexdigest()[:32]


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def _shorten(text: str, limit: int = MAX_SUMMARY) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "…"


def article_data(feed: FeedSpec, change: EntryChange) -> dict[str, Any]:
    entry = change.entry
    return {
        "title": entry.title,
        "url": entry.link,
        "canonical_url": change.canonical_url,
        "feed": {"name": feed.label, "url": feed.url, "tags": list(feed.tags)},
        "published": _iso(entry.published),
        "summary": _shorten(entry.summary or entry.content),
        "language": entry.language,
        "author": entry.author,
    }


def matched_payload(
    article: dict[str, Any], text: Article, rule: RuleSpec, match: Match, now: datetime
) -> dict[str, Any]:
    """The ``article.matched`` event: ``{type, timestamp, data}`` as Standard Webhooks shapes it."""
    return {
        "type": "article.matched",
        "timestamp": _iso(now),
        "data": {
            "version": PAYLOAD_VERSION,
            "article": article,
            "rule": {"id": rule.id, "name": rule.name or rule.id},
            "terms": list(match.terms),
            "hits": [hit.to_dict(text) for hit in match.hits[:MAX_HITS]],
        },
    }
