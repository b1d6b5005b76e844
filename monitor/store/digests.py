"""Digests: a sink's held alerts gathered into one digest alert, once per fire time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.base.types import AlertKind, AlertState, Digest, DigestItem
from monitor.store.outbox import OutboxStore
from monitor.store.reports import ReportStore
from monitor.store.schema import alerts, sinks

DigestPayload = Callable[[Digest], dict[str, Any]]


class DigestStore(OutboxStore, ReportStore):
    """Cutting digests, atomically (two nodes cutting the same digest make one)."""

    async def collect_digest(
        self, sink: str, digest_id: str, cut: datetime, payload: DigestPayload
    ) -> int:
        """Gather the alerts ``sink`` held until ``cut`` into one digest alert, atomically.

        Returns how many alerts the digest holds (0: nothing to send, or another node already
        cut this digest: its id is derived from the sink and ``cut``). Held alerts become
        ``digested`` and point at the digest, which is then delivered, retried and replayed like
        any alert. ``last_digest_at`` moves to ``cut`` either way.
        """
        now = self.now()
        async with self._write() as conn:
            await self._ensure_sink(conn, sink)
            last = sa.select(sinks.c.last_digest_at).where(sinks.c.name == sink)
            since = (await conn.execute(last)).scalar_one()
            if since is not None and since >= cut:
                return 0
            held = (await conn.execute(_held(sink, cut, now))).all()
            await conn.execute(
                sinks.update().where(sinks.c.name == sink).values(last_digest_at=cut)
            )
            if not held:
                return 0
            reports = await self._reports(conn, {r.story_id for r in held if r.story_id})
            items = tuple(
                DigestItem(r.id, r.payload, r.entry_id, tuple(reports.get(r.story_id, ())))
                for r in held
            )
            digest = payload(Digest(digest_id, sink, since, cut, items))
            inserted = await conn.execute(
                self._insert(alerts)
                .on_conflict_do_nothing()
                .values(id=digest_id, sink=sink, **_digest_row(digest, now))
            )
            if not inserted.rowcount:
                return 0
            await conn.execute(
                alerts.update()
                .where(alerts.c.id.in_([r.id for r in held]))
                .values(state=AlertState.DIGESTED, digest_id=digest_id, last_error=None)
            )
        return len(held)


def _held(sink: str, cut: datetime, now: datetime) -> sa.Select[Any]:
    """The sink's single alerts created until ``cut`` and not under another claim, locked."""
    a = alerts.c
    return (
        sa.select(a.id, a.payload, a.story_id, a.entry_id)
        .where(
            a.sink == sink,
            a.state == AlertState.PENDING,
            a.kind != AlertKind.DIGEST,
            a.created_at <= cut,
            sa.or_(a.lease_until.is_(None), a.lease_until < now),
        )
        .order_by(a.created_at, a.id)
        .with_for_update()
    )


def _digest_row(digest: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "rule_id": "digest",
        "entry_id": None,
        "revision": 0,
        "kind": AlertKind.DIGEST,
        "payload": digest,
        "state": AlertState.PENDING,
        "next_attempt_at": now,
        "created_at": now,
    }
