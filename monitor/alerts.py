"""Alert ids and payloads: what a receiver gets, and the key that makes a second alert impossible.

The id is derived from (sink, rule, story, revision), so the same story, however many feeds
carry it, can only ever produce the same id: the outbox's unique constraint refuses a second
row, and a receiver can drop a repeated delivery by its ``webhook-id``. A digest's id is derived
from its sink and the time it was cut, so two nodes cutting the same digest make one.

The payload's shape is a public contract, described by ``monitor/data/webhook-payload.schema.json``
(JSON Schema); ``data.version`` changes when a field changes meaning or goes away.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from monitor.config.schema import FeedSpec, RuleSpec
from monitor.rules import Article, Match
from monitor.types import Digest, EntryChange

PAYLOAD_VERSION = 1
MAX_SUMMARY = 600
MAX_HITS = 20
MAX_DIGEST_HITS = 5
EVENT_TYPES = ("article.matched", "article.updated", "digest")


def alert_id(sink: str, rule_id: str, story_id: int | None, revision: int = 0) -> str:
    """The alert's id, from what makes it unique: the same story can only give the same id."""
    parts = "\x1f".join((sink, rule_id, f"story:{story_id}", str(revision)))
    return "msg_" + hashlib.sha256(parts.encode()).hexdigest()[:32]


def digest_id(sink: str, cut: datetime) -> str:
    parts = "\x1f".join(("digest", sink, cut.isoformat()))
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
    article: dict[str, Any],
    text: Article,
    rule: RuleSpec,
    match: Match,
    now: datetime,
    *,
    revision: int = 0,
    diff: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``article.matched`` event (``{type, timestamp, data}`` as Standard Webhooks shapes
    it), or ``article.updated`` when a ``diff`` of an edit is given."""
    data: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "article": article,
        "rule": {"id": rule.id, "name": rule.name or rule.id},
        "terms": list(match.terms),
        "hits": [hit.to_dict(text) for hit in match.hits[:MAX_HITS]],
    }
    if revision:
        data["revision"] = revision
    if diff is not None:
        data["diff"] = diff
    kind = "article.updated" if diff is not None else "article.matched"
    return {"type": kind, "timestamp": _iso(now), "data": data}


def digest_payload(digest: Digest, now: datetime) -> dict[str, Any]:
    """The ``digest`` event: every alert the sink held since the last digest, oldest first.

    Each item keeps its own alert id (a receiver that also got some alerts one by one can tell),
    its type and data; hits are cut to a few per item to keep the body small.
    """
    items = []
    for alert_id_, payload in digest.items:
        data = dict(payload.get("data", {}))
        data["hits"] = list(data.get("hits", []))[:MAX_DIGEST_HITS]
        data.pop("version", None)
        items.append({"id": alert_id_, "type": payload.get("type", "article.matched"), **data})
    return {
        "type": "digest",
        "timestamp": _iso(now),
        "data": {
            "version": PAYLOAD_VERSION,
            "sink": digest.sink,
            "since": _iso(digest.since),
            "until": _iso(digest.until),
            "count": len(items),
            "items": items,
        },
    }
