"""What the dashboard shows of each poll and each delivery, written where they are recorded.

A feed keeps its last :data:`POLL_RING` polls: the poll's feed-row update bumps ``feeds.polls``
and returns it, and one upsert (for a whole batch of polls) overwrites slot ``polls % RING``.
A settled delivery attempt adds one ``delivery_attempts`` row, in the transaction that settles
it; the row goes with its alert. Both cost one statement per transaction, no read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.base.types import ChangeKind, FeedUpdateIntent
from monitor.store.schema import POLL_RING, delivery_attempts, poll_history

MAX_ANSWER = 500  # characters of an error or a receiver's answer kept per attempt

Insert = Callable[[Any], Any]


def poll_row(intent: FeedUpdateIntent, poll: int) -> dict[str, Any]:
    """The ring row of a feed's ``poll``-th recorded poll."""
    new = sum(1 for write in intent.entries if write.change.kind is ChangeKind.NEW)
    return {
        "feed_id": intent.feed_id,
        "slot": poll % POLL_RING,
        "poll": poll,
        "at": intent.attempted_at,
        "status": intent.status.value,
        "new_entries": new,
        "error": intent.error[:MAX_ANSWER] if intent.error else None,
    }


async def keep_polls(conn: AsyncConnection, insert: Insert, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(_ring_upsert(insert), list(rows))


@functools.cache
def _ring_upsert(insert: Insert) -> Any:
    statement = insert(poll_history)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["feed_id", "slot"],
        set_={name: excluded[name] for name in ("poll", "at", "status", "new_entries", "error")},
    )


async def keep_attempts(
    conn: AsyncConnection, settled: Sequence[Any], at: datetime, outcome: str, answer: str | None
) -> None:
    """One row per attempt an ``UPDATE ... RETURNING id, attempts`` settled."""
    if not settled:
        return
    text = answer[:MAX_ANSWER] if answer else None
    await conn.execute(
        delivery_attempts.insert(),
        [
            {
                "alert_id": row.id,
                "attempt": row.attempts,
                "at": at,
                "outcome": outcome,
                "answer": text,
            }
            for row in settled
        ],
    )
