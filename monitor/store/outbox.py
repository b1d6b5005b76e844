"""The outbox and its sinks: claiming due alerts, settling attempts, a sink's on/off state.

An outbox row is settled only by the claim that holds it (a delivery that outlived its lease
must not settle a failure), except an acknowledgement, which is a fact whoever holds it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.base.types import Alert, AlertState, DeliveryOutcome
from monitor.store.core import StoreCore
from monitor.store.counts import Key, alert_count, bump
from monitor.store.history import keep_attempts
from monitor.store.retry import retried
from monitor.store.schema import alerts, sinks


@dataclass(frozen=True)
class SinkSync:
    """What :meth:`Store.sync_sinks` changed: sinks it re-enabled, alerts it could not route."""

    enabled: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    orphaned: int = 0


# What an UPDATE that settles an attempt returns: the sink it counts for, the attempt it keeps.
SETTLED = (alerts.c.id, alerts.c.sink, alerts.c.attempts)


class OutboxStore(StoreCore):
    """The ``alerts`` rows waiting for delivery, and the ``sinks`` they go to."""

    @retried
    async def claim_alerts(
        self,
        node: str,
        lease: float,
        limit: int,
        *,
        sink: str | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[Alert]:
        """Lease up to ``limit`` pending alerts that are due; each claim counts as an attempt.

        ``sink`` and ``kinds`` narrow the claim (one lane per sink; a digest sink claims only
        its digests). Alerts of a disabled sink are never claimed: they wait, visible, until the
        sink is enabled again.
        """
        now = self.now()
        a = alerts.c
        claim = (
            alerts.update()
            .where(a.id.in_(_due(now, limit, sink, kinds).scalar_subquery()))
            .values(
                lease_owner=node,
                lease_until=now + timedelta(seconds=lease),
                attempts=a.attempts + 1,
            )
            .returning(a.id, a.sink, a.rule_id, a.kind, a.payload, a.attempts, a.created_at)
        )
        async with self._write() as conn:
            rows = (await conn.execute(claim)).all()
        return [
            Alert(
                row.id, row.sink, row.rule_id, row.kind, row.payload, row.attempts, row.created_at
            )
            for row in sorted(rows, key=lambda r: (r.created_at, r.id))
        ]

    @retried
    async def mark_delivered(self, alert_id: str) -> None:
        """The sink acknowledged: never deliver this alert again.

        An acknowledgement is a fact whoever holds the lease now: it also settles a row whose
        lease passed to another claim, or that another claim gave up on (dead). A row already
        delivered keeps its first ``delivered_at``; a digested one stays in its digest.
        """
        async with self._write() as conn:
            result = await conn.execute(
                alerts.update()
                .where(
                    alerts.c.id == alert_id,
                    alerts.c.state.in_((AlertState.PENDING, AlertState.DEAD)),
                )
                .values(
                    state=AlertState.DELIVERED,
                    delivered_at=self.now(),
                    lease_owner=None,
                    lease_until=None,
                    last_error=None,
                )
                .returning(*SETTLED)
            )
            await self._count(conn, result, DeliveryOutcome.DELIVERED, "acknowledged")

    @staticmethod
    def _claim_holds(alert_id: str, node: str, attempt: int | None) -> list[sa.ColumnElement[bool]]:
        """The claim ``node`` made (as attempt ``attempt``) still holds the pending row.

        A delivery that outlived its lease must not settle a failure: by then another node, or
        a later claim of this one, may hold the row or have delivered it.
        """
        a = alerts.c
        held = [a.id == alert_id, a.lease_owner == node, a.state == AlertState.PENDING]
        if attempt is not None:
            held.append(a.attempts == attempt)
        return held

    @retried
    async def schedule_retry(
        self, alert_id: str, node: str, at: datetime, error: str, *, attempt: int | None = None
    ) -> None:
        async with self._write() as conn:
            result = await conn.execute(
                alerts.update()
                .where(*self._claim_holds(alert_id, node, attempt))
                .values(next_attempt_at=at, last_error=error, lease_owner=None, lease_until=None)
                .returning(*SETTLED)
            )
            await self._count(conn, result, DeliveryOutcome.RETRY, error)

    @retried
    async def mark_dead(
        self, alert_id: str, node: str, error: str, *, attempt: int | None = None
    ) -> None:
        async with self._write() as conn:
            result = await conn.execute(
                alerts.update()
                .where(*self._claim_holds(alert_id, node, attempt))
                .values(state=AlertState.DEAD, last_error=error, lease_owner=None, lease_until=None)
                .returning(*SETTLED)
            )
            await self._count(conn, result, DeliveryOutcome.DEAD, error)

    async def _count(
        self, conn: AsyncConnection, settled: Any, outcome: str, answer: str | None
    ) -> None:
        """Count the attempts an UPDATE ... RETURNING settled, in the hour they ended, and keep
        each attempt with its answer."""
        counts: Counter[Key] = Counter()
        rows = settled.all()
        now = self.now()
        for row in rows:
            counts += alert_count(now, row.sink, outcome)
        await bump(conn, self._insert, counts)
        await keep_attempts(conn, rows, now, outcome, answer)

    async def replay_alert(self, alert_id: str) -> bool:
        """Re-queue a dead alert for delivery now; False if there is no dead alert by that id."""
        async with self._write() as conn:
            result = await conn.execute(
                alerts.update()
                .where(alerts.c.id == alert_id, alerts.c.state == AlertState.DEAD)
                .values(
                    state=AlertState.PENDING,
                    attempts=0,
                    next_attempt_at=self.now(),
                    last_error=None,
                )
            )
        return bool(result.rowcount)

    async def discard_alerts(
        self,
        *,
        alert_id: str | None = None,
        sink: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        """Give up dead alerts: one by id, or a sink's (created before ``before``, if given).

        A discarded alert keeps its row (its key keeps the story single, and ``newsmon alerts
        --status discarded`` lists it) with ``discarded_at``; it is never sent again and counts
        as dealt with. Returns the ids discarded.
        """
        a = alerts.c
        where = [a.state == AlertState.DEAD]
        if alert_id is not None:
            where.append(a.id == alert_id)
        if sink is not None:
            where.append(a.sink == sink)
        if before is not None:
            where.append(a.created_at < before)
        async with self._write() as conn:
            result = await conn.execute(
                alerts.update()
                .where(*where)
                .values(state=AlertState.DISCARDED, discarded_at=self.now())
                .returning(a.id, a.sink)
            )
            rows = result.all()
            counts: Counter[Key] = Counter()
            for row in rows:
                counts += alert_count(self.now(), row.sink, AlertState.DISCARDED)
            await bump(conn, self._insert, counts)
        return sorted(row.id for row in rows)

    async def disable_sink(self, name: str, reason: str, alert_id: str | None = None) -> bool:
        """The receiver said 410 Gone: stop sending to ``name`` until it is enabled again.

        The alert that got the answer goes back to pending (due at once), like every other alert
        of the sink, so enabling the sink resumes delivery without a replay. False if the sink
        was already disabled.
        """
        now = self.now()
        async with self._write() as conn:
            await self._ensure_sink(conn, name)
            result = await conn.execute(
                sinks.update()
                .where(sinks.c.name == name, sinks.c.disabled_at.is_(None))
                .values(disabled_at=now, disabled_reason=reason)
            )
            if alert_id is not None:
                answered = await conn.execute(
                    alerts.update()
                    .where(alerts.c.id == alert_id, alerts.c.state == AlertState.PENDING)
                    .values(
                        next_attempt_at=now, last_error=reason, lease_owner=None, lease_until=None
                    )
                    .returning(*SETTLED)
                )
                await self._count(conn, answered, DeliveryOutcome.DISABLED, reason)
        return bool(result.rowcount)

    async def enable_sink(self, name: str) -> bool:
        """Deliver to ``name`` again; False if it was not disabled."""
        async with self._write() as conn:
            result = await conn.execute(
                sinks.update()
                .where(sinks.c.name == name, sinks.c.disabled_at.is_not(None))
                .values(disabled_at=None, disabled_reason=None)
            )
        return bool(result.rowcount)

    async def ensure_sink(self, name: str) -> None:
        """Know ``name`` (its digest clock starts now) if it is not known yet."""
        async with self._write() as conn:
            await self._ensure_sink(conn, name)

    async def _ensure_sink(self, conn: AsyncConnection, name: str, fingerprint: str = "") -> None:
        await conn.execute(
            self._insert(sinks)
            .on_conflict_do_nothing()
            .values(
                name=name, fingerprint=fingerprint, created_at=self.now(), last_digest_at=self.now()
            )
        )

    async def sync_sinks(self, fingerprints: Mapping[str, str]) -> SinkSync:
        """Make the store know the configured sinks (name -> fingerprint of its settings).

        A disabled sink whose settings changed is enabled again: a 410 asks the user to fix the
        URL, and a fixed URL is the answer. Pending alerts for a sink that is no longer
        configured are dead (visible, and replayable once the sink is back), not silently stuck.
        """
        s = sinks.c
        enabled = []
        async with self._write() as conn:
            rows = {row.name: row for row in (await conn.execute(sa.select(sinks))).all()}
            for name, fingerprint in fingerprints.items():
                row = rows.get(name)
                if row is None:
                    await self._ensure_sink(conn, name, fingerprint)
                    continue
                if row.fingerprint == fingerprint:
                    continue
                values: dict[str, Any] = {"fingerprint": fingerprint}
                if row.disabled_at is not None and row.fingerprint:  # "": not known before
                    values.update(disabled_at=None, disabled_reason=None)
                    enabled.append(name)
                await conn.execute(sinks.update().where(s.name == name).values(**values))
            disabled = [
                name
                for name, row in rows.items()
                if name in fingerprints and row.disabled_at is not None and name not in enabled
            ]
            orphaned = await conn.execute(
                alerts.update()
                .where(
                    alerts.c.state == AlertState.PENDING, alerts.c.sink.not_in(list(fingerprints))
                )
                .values(
                    state=AlertState.DEAD,
                    last_error="its sink is no longer configured",
                    lease_owner=None,
                    lease_until=None,
                )
            )
        return SinkSync(tuple(enabled), tuple(disabled), orphaned.rowcount)

    async def get_sink(self, name: str) -> dict[str, Any] | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(sinks).where(sinks.c.name == name))).first()
        return dict(row._mapping) if row else None


def _due(
    now: datetime, limit: int, sink: str | None, kinds: Collection[str] | None
) -> sa.Select[tuple[str]]:
    """The ids of up to ``limit`` pending alerts due at ``now``, unleased, of enabled sinks,
    oldest due first, locked for the claim (rows another node is claiming are skipped)."""
    a = alerts.c
    disabled = sa.select(sinks.c.name).where(sinks.c.disabled_at.is_not(None))
    due = (
        sa.select(a.id)
        .where(
            a.state == AlertState.PENDING,
            a.next_attempt_at <= now,
            sa.or_(a.lease_until.is_(None), a.lease_until < now),
            a.sink.not_in(disabled.scalar_subquery()),
        )
        .order_by(a.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if sink is not None:
        due = due.where(a.sink == sink)
    if kinds is not None:
        due = due.where(a.kind.in_(list(kinds)))
    return due
