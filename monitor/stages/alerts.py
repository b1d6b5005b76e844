"""Alert payloads: what a receiver gets (their ids are :mod:`monitor.base.ids`).

The payload's shape is a public contract, described by ``monitor/data/webhook-payload.schema.json``
(JSON Schema); ``data.version`` changes when a field changes meaning or goes away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from monitor.base.settings import FeedPolicy, RuleSpec
from monitor.base.types import AlertKind, Digest, EntryChange
from monitor.stages.rules import Article, Match

PAYLOAD_VERSION = 1
MAX_SUMMARY = 600
MAX_HITS = 20
MAX_DIGEST_HITS = 5


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def _shorten(text: str, limit: int = MAX_SUMMARY) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "…"


def article_data(feed: FeedPolicy, change: EntryChange) -> dict[str, Any]:
    entry = change.entry
    return {
        "title": entry.title,
        "url": entry.link,
        "canonical_url": change.canonical_url,
        "feed": {"name": feed.label, "url": feed.url, "tags": list(feed.tags)},
        "published": _iso(entry.published),
        "summary": _shorten(entry.summary or entry.content),
        "language": entry.language,
        "declared_language": entry.declared_language,
        "detected_language": entry.detected_language,
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
    kind = AlertKind.UPDATED if diff is not None else AlertKind.MATCHED
    return {"type": kind, "timestamp": _iso(now), "data": data}


def also_reported_by(
    reports: Sequence[Mapping[str, Any]], entry_id: int | None
) -> list[dict[str, Any]]:
    """The other feeds that told an alert's story, as the payload names them."""
    return [
        {"feed": r["feed"], "feed_url": r["feed_url"], "title": r["title"], "url": r["url"]}
        for r in reports
        if r["entry_id"] != entry_id
    ]


def digest_payload(digest: Digest, now: datetime) -> dict[str, Any]:
    """The ``digest`` event: every alert the sink held since the last digest, oldest first.

    Each item keeps its own alert id (a receiver that also got some alerts one by one can tell),
    its type and data; hits are cut to a few per item to keep the body small.
    """
    items = []
    for item in digest.items:
        data = dict(item.payload.get("data", {}))
        data["hits"] = list(data.get("hits", []))[:MAX_DIGEST_HITS]
        data.pop("version", None)
        others = also_reported_by(item.reports, item.entry_id)
        if others:
            data["also_reported_by"] = others
        kind = item.payload.get("type", AlertKind.MATCHED)
        items.append({"id": item.id, "type": kind, **data})
    return {
        "type": AlertKind.DIGEST,
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
