"""What ``newsmon status`` reads: a handful of grouped counts, each over an index or a small
table, so that running it every minute from cron costs next to nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from monitor.base.types import AlertState
from monitor.store.counts import CountKind, hour_of
from monitor.store.reports import ReportStore
from monitor.store.schema import UTCDateTime, alerts, feeds, hourly_counts, sinks

OVERDUE_SHOWN = 20  # the most overdue feeds handed back, for the caller to judge by interval


@dataclass(frozen=True)
class SinkStatus:
    alerts: dict[str, int] = field(default_factory=dict)
    oldest_pending: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True)
class StoreStatus:
    """The store's side of ``newsmon status``."""

    now: datetime
    feeds: dict[str, int]
    since: datetime  # the start of the previous hour: the counts cover since then
    polls: dict[str, int]
    new_entries: int
    attempts: dict[str, dict[str, int]]  # sink -> outcome -> n
    overdue: list[tuple[str, datetime]]  # (url, next_poll_at), most overdue first
    sinks: dict[str, SinkStatus]


class StatusStore(ReportStore):
    async def status(self) -> StoreStatus:
        now = self.now()
        since = hour_of(now - timedelta(hours=1))
        tally = await self.tally_state()
        async with self._read() as conn:
            counts = (await conn.execute(_counts_since(since))).all()
            overdue = (await conn.execute(_overdue(now))).all()
            outbox = (await conn.execute(_outbox())).all()
            sink_rows = (await conn.execute(sa.select(sinks))).all()
        polls: dict[str, int] = {}
        attempts: dict[str, dict[str, int]] = {}
        new = 0
        for kind, sink, outcome, n in counts:
            if kind == CountKind.POLL:
                polls[outcome] = int(n)
            elif kind == CountKind.NEW_ENTRIES:
                new += int(n)
            else:
                attempts.setdefault(sink, {})[outcome] = int(n)
        return StoreStatus(
            now=now,
            feeds={str(state): n for state, n in tally.feeds.items()},
            since=since,
            polls=polls,
            new_entries=new,
            attempts=attempts,
            overdue=[(row.url, row.next_poll_at) for row in overdue],
            sinks=_sink_status(outbox, sink_rows),
        )


def _counts_since(since: datetime) -> Any:
    h = hourly_counts.c
    return (
        sa.select(h.kind, h.sink, h.outcome, sa.func.sum(h.n))
        .where(h.hour >= since)
        .group_by(h.kind, h.sink, h.outcome)
    )


def _overdue(now: datetime) -> Any:
    f = feeds.c
    return (
        sa.select(f.url, f.next_poll_at)
        .where(
            f.active.is_(True),
            f.disabled_at.is_(None),
            f.next_poll_at < now,
            sa.or_(f.lease_until.is_(None), f.lease_until < now),
        )
        .order_by(f.next_poll_at)
        .limit(OVERDUE_SHOWN)
    )


def _outbox() -> Any:
    a = alerts.c
    pending_since = sa.case((a.state == AlertState.PENDING, a.created_at))
    oldest = sa.type_coerce(sa.func.min(pending_since), UTCDateTime)  # aware, on every backend
    return sa.select(a.sink, a.state, sa.func.count(), oldest).group_by(a.sink, a.state)


def _sink_status(outbox: Any, sink_rows: Any) -> dict[str, SinkStatus]:
    found: dict[str, dict[str, Any]] = {
        row.name: {"disabled_at": row.disabled_at, "disabled_reason": row.disabled_reason}
        for row in sink_rows
    }
    for sink, state, n, oldest in outbox:
        entry = found.setdefault(sink, {})
        entry.setdefault("alerts", {})[state] = int(n)
        if state == AlertState.PENDING:
            entry["oldest_pending"] = oldest
    return {name: SinkStatus(**entry) for name, entry in sorted(found.items())}
