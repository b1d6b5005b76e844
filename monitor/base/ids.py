"""Alert ids: the key that makes a second alert for the same story impossible.

The id is derived from (sink, rule, story, revision), so the same story, however many feeds
carry it, can only ever produce the same id: the outbox's unique constraint refuses a second
row, and a receiver can drop a repeated delivery by its ``webhook-id``. A digest's id is derived
from its sink and the time it was cut, so two nodes cutting the same digest make one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime


def alert_id(sink: str, rule_id: str, story_id: int | None, revision: int = 0) -> str:
    """The alert's id, from what makes it unique: the same story can only give the same id."""
    parts = "\x1f".join((sink, rule_id, f"story:{story_id}", str(revision)))
    return "msg_" + hashlib.sha256(parts.encode()).hexdigest()[:32]


def digest_id(sink: str, cut: datetime) -> str:
    """A digest's id, from its sink and the fire time it was cut at."""
    parts = "\x1f".join(("digest", sink, cut.isoformat()))
    return "msg_" + hashlib.sha256(parts.encode()).hexdigest()[:32]
