"""Nodes: each daemon's heartbeat row, the leases it renews, and who is alive.

A heartbeat renews the leases a node holds (feeds it is polling, alerts it is delivering), so
a node that is merely slow keeps its work, and one that died loses it when its leases run out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.core import StoreCore
from monitor.store.retry import retried
from monitor.store.schema import alerts, feeds, nodes, pages


class NodeState(StrEnum):
    LIVE = "live"
    GONE = "gone"  # not seen for ``gone_after``; forgotten after ``forget_after``


@dataclass(frozen=True)
class NodeBeat:
    """What a node says of itself at each heartbeat."""

    id: str
    host: str
    pid: int
    version: str
    config_fingerprint: str
    started_at: datetime
    reload_at: datetime | None = None
    reload_ok: bool | None = None
    reload_error: str | None = None


@dataclass(frozen=True)
class Leases:
    """How long a heartbeat extends the node's leases, in seconds."""

    feeds: float
    alerts: float


@dataclass(frozen=True)
class NodeRow:
    id: str
    host: str
    pid: int
    version: str
    config_fingerprint: str
    started_at: datetime
    last_seen_at: datetime
    feeds_held: int
    alerts_held: int
    reload_at: datetime | None
    reload_ok: bool | None
    reload_error: str | None
    state: NodeState
    config_differs: bool


class NodeStore(StoreCore):
    """The ``nodes`` table and lease renewal."""

    @retried
    async def heartbeat(
        self, beat: NodeBeat, leases: Leases, forget_after: float
    ) -> dict[str, Any] | None:
        """Renew our live leases, record the beat, forget nodes long gone; returns the row as
        it was before (another process's, if it also uses this node id)."""
        now = self.now()
        async with self._write() as conn:
            held_feeds = await _renew(conn, feeds, beat.id, now, leases.feeds)
            held_alerts = await _renew(conn, alerts, beat.id, now, leases.alerts)
            before = (await conn.execute(sa.select(nodes).where(nodes.c.id == beat.id))).first()
            values = {
                **beat.__dict__,
                "last_seen_at": now,
                "feeds_held": held_feeds,
                "alerts_held": held_alerts,
            }
            upsert = self._insert(nodes).values(**values)
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"}
                )
            )
            await conn.execute(
                nodes.delete().where(nodes.c.last_seen_at < now - timedelta(seconds=forget_after))
            )
        return dict(before._mapping) if before else None

    async def leave(self, node: str) -> None:
        """A node stopping cleanly: its leases go now rather than at their expiry."""
        async with self._write() as conn:
            for table in (feeds, alerts, pages):
                await conn.execute(
                    table.update()
                    .where(table.c.lease_owner == node)
                    .values(lease_owner=None, lease_until=None)
                )
            await conn.execute(
                nodes.update().where(nodes.c.id == node).values(feeds_held=0, alerts_held=0)
            )

    async def list_nodes(self, gone_after: float) -> list[NodeRow]:
        """Every known node, live ones first; a live node whose config fingerprint is not the
        one most live nodes share is flagged (all of them, when no fingerprint leads)."""
        now = self.now()
        async with self._read() as conn:
            rows = (await conn.execute(sa.select(nodes).order_by(nodes.c.id))).all()
        cutoff = now - timedelta(seconds=gone_after)
        live = [row for row in rows if row.last_seen_at >= cutoff]
        counts = Counter(row.config_fingerprint for row in live).most_common()
        usual = None
        if len(counts) == 1 or (len(counts) > 1 and counts[0][1] > counts[1][1]):
            usual = counts[0][0]
        out = []
        for row in rows:
            alive = row.last_seen_at >= cutoff
            differs = alive and len(counts) > 1 and row.config_fingerprint != usual
            out.append(
                NodeRow(
                    **dict(row._mapping),
                    state=NodeState.LIVE if alive else NodeState.GONE,
                    config_differs=differs,
                )
            )
        return sorted(out, key=lambda n: (n.state is not NodeState.LIVE, n.id))


async def _renew(
    conn: AsyncConnection, table: sa.Table, node: str, now: datetime, lease: float
) -> int:
    """Extend the leases ``node`` holds that have not run out; how many it holds."""
    result = await conn.execute(
        table.update()
        .where(table.c.lease_owner == node, table.c.lease_until >= now)
        .values(lease_until=now + timedelta(seconds=lease))
    )
    return int(result.rowcount)
