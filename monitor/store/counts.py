"""Hourly counts: what ``newsmon status`` says of the last hour, kept cheaply.

No row per poll: one row per (hour, kind, sink, outcome), bumped by one upsert in the
transaction that records what it counts (a batch of polls, one poll's entries, an alert
settled), so a count is never ahead of or behind what it counts, and costs one statement.
"""

from __future__ import annotations

import enum
import functools
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.base.types import ChangeKind, FeedUpdateIntent
from monitor.store.schema import hourly_counts


class CountKind(enum.StrEnum):
    POLL = "poll"  # outcome: the poll's status
    NEW_ENTRIES = "new_entries"
    ALERT = "alert"  # sink and outcome: one delivery attempt (or a discard)


Key = tuple[datetime, CountKind, str, str]  # hour, kind, sink, outcome


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def poll_counts(intents: Iterable[FeedUpdateIntent]) -> Counter[Key]:
    """Each poll by its status, and the entries it saw for the first time."""
    counts: Counter[Key] = Counter()
    for intent in intents:
        hour = hour_of(intent.attempted_at)
        counts[hour, CountKind.POLL, "", intent.status.value] += 1
        new = sum(1 for write in intent.entries if write.change.kind is ChangeKind.NEW)
        if new:
            counts[hour, CountKind.NEW_ENTRIES, "", ""] += new
    return counts


def alert_count(at: datetime, sink: str, outcome: str) -> Counter[Key]:
    return Counter({(hour_of(at), CountKind.ALERT, sink, outcome): 1})


async def bump(conn: AsyncConnection, insert: Callable[[Any], Any], counts: Counter[Key]) -> None:
    """Add ``counts`` to their hours' rows: one upsert statement (compiled once, cached) for
    them all."""
    if not counts:
        return
    rows = [
        {"hour": hour, "kind": kind.value, "sink": sink, "outcome": outcome, "n": n}
        for (hour, kind, sink, outcome), n in counts.items()
    ]
    await conn.execute(_upsert(insert), rows)


@functools.cache
def _upsert(insert: Callable[[Any], Any]) -> Any:
    statement = insert(hourly_counts)
    return statement.on_conflict_do_update(
        index_elements=["hour", "kind", "sink", "outcome"],
        set_={"n": hourly_counts.c.n + statement.excluded.n},
    )
