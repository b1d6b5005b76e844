"""Syncing the config's feeds into the store in bulk: a few statements for 100,000 feeds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.schema import feeds

SYNC_CHUNK = 500  # rows per statement


class Scheduled(Protocol):
    """A configured feed as the sync sees it (:class:`monitor.store.feeds.FeedSchedule`)."""

    @property
    def name(self) -> str | None: ...

    @property
    def interval(self) -> float: ...

    @property
    def tag_text(self) -> str | None: ...


async def update_known(
    conn: AsyncConnection, known: Mapping[str, Any], wanted: Mapping[str, Scheduled], now: datetime
) -> None:
    """Bring the known feeds' rows in line with the config: active again, renamed, retagged, or
    polled sooner after their interval got shorter; one statement per kind of change."""
    f = feeds.c
    changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for url, spec in wanted.items():
        row = known.get(url)
        if row is None:
            continue
        values: dict[str, Any] = {}
        if not row.active:
            values["active"] = True
        if row.name != spec.name:
            values["name"] = spec.name
        if row.tags != spec.tag_text:
            values["tags"] = spec.tag_text
        latest = (row.last_attempt_at or now) + timedelta(seconds=spec.interval)
        if row.next_poll_at > latest:
            values["next_poll_at"] = latest
        if values:
            changes.setdefault(tuple(sorted(values)), []).append({"row_id": row.id, **values})
    for columns, rows in changes.items():
        stmt = (
            feeds.update()
            .where(f.id == sa.bindparam("row_id"))
            .values({c: sa.bindparam(c) for c in columns})
        )
        for start in range(0, len(rows), SYNC_CHUNK):
            await conn.execute(stmt, rows[start : start + SYNC_CHUNK])
