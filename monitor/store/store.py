"""The state store: feed schedule and validators, entries, matches and the alert outbox.

Every method is one transaction. :meth:`Store.record_update` is the heart of the "no alert lost"
guarantee: a feed's validators and next poll time are saved together with the entries, matches
and outbox rows they produced, so a crash at any point leaves either all of it or none of it, and
a poll that is not recorded is simply repeated.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.errors import StoreError
from monitor.store import engine as engine_mod
from monitor.store.entries import StoryPolicy, touch_seen, write_entries
from monitor.store.schema import (
    alerts,
    entries,
    feeds,
    matches,
    revisions,
    sinks,
    stories,
    story_bands,
)
from monitor.types import (
    MALFORMED,
    Alert,
    Digest,
    FeedForUpdate,
    FeedUpdateIntent,
    StoredEntry,
)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class FeedSchedule:
    """What the store needs to know of a configured feed to schedule it."""

    url: str
    name: str | None
    interval: float


@dataclass(frozen=True)
class RecordOutcome:
    recorded: bool
    alerts: int = 0


@dataclass(frozen=True)
class SinkSync:
    """What :meth:`Store.sync_sinks` changed: sinks it re-enabled, alerts it could not route."""

    enabled: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    orphaned: int = 0


@dataclass(frozen=True)
class StateTally:
    """Configured feeds by state, and undelivered alerts by ``(sink, state)``."""

    feeds: Mapping[str, int]
    outbox: Mapping[tuple[str, str], int]


DigestPayload = Callable[[Digest], dict[str, Any]]


def _stored_entries() -> sa.Select[Any]:
    e = entries.c
    return sa.select(
        e.id,
        e.key,
        e.content_hash,
        e.material_hash,
        e.revision,
        e.hash_changes,
        e.story_id,
        e.title,
        e.summary,
        e.content,
        e.pruned_at,
    )


def _stored(row: Any) -> StoredEntry:
    text = None if row.pruned_at is not None else (row.title, row.summary, row.content)
    return StoredEntry(
        row.id,
        row.key,
        row.content_hash,
        row.material_hash,
        row.revision,
        row.hash_changes,
        row.story_id,
        text,
    )


def _with_reports(
    payload: dict[str, Any], reports: Sequence[dict[str, Any]], entry_id: int | None
) -> dict[str, Any]:
    """An alert's payload with the other feeds that told its story ("also reported by")."""
    others = [
        {"feed": r["feed"], "feed_url": r["feed_url"], "title": r["title"], "url": r["url"]}
        for r in reports
        if r["entry_id"] != entry_id
    ]
    if not others:
        return payload
    return {**payload, "data": {**payload.get("data", {}), "also_reported_by": others}}


def _feed_values(intent: FeedUpdateIntent) -> dict[str, Any]:
    """The ``feeds`` columns one poll sets (see :class:`FeedUpdateIntent` for what is kept)."""
    f = feeds.c
    values: dict[str, Any] = {
        "lease_owner": None,
        "lease_until": None,
        "last_attempt_at": intent.attempted_at,
        "next_poll_at": intent.next_poll_at,
        "last_status": intent.status,
        "last_error": intent.error,
        "last_error_kind": intent.error_kind,
    }
    if intent.status in ("not_modified", "unchanged"):
        # The body last parsed is still the one served: a warning about it still holds (until a
        # clean parse); an error is over.
        still = f.last_error_kind == MALFORMED
        values["last_error"] = sa.case((still, f.last_error), else_=None)
        values["last_error_kind"] = sa.case((still, f.last_error_kind), else_=None)
    if intent.status in ("error", "gone"):
        values["consecutive_failures"] = f.consecutive_failures + 1
        if intent.failing:
            values["failing_since"] = sa.func.coalesce(f.failing_since, intent.attempted_at)
        if intent.status == "gone":
            values.update(disabled_at=intent.attempted_at, disabled_reason=intent.error)
    else:
        values.update(
            consecutive_failures=0,
            failing_since=None,
            last_success_at=intent.attempted_at,
            synced_at=sa.func.coalesce(f.synced_at, intent.attempted_at),
        )
    if intent.body_hash is not None:
        values.update(
            etag=intent.etag,
            last_modified=intent.last_modified,
            body_hash=intent.body_hash,
            scan_hash=intent.scan_hash,
        )
    if intent.title:
        values["title"] = intent.title
    if intent.status == "ok":
        values["last_parsed_at"] = intent.attempted_at
    if intent.identity is not None:
        values["identity"] = intent.identity
    if intent.rhythm is not None:
        values.update(
            entry_interval=intent.rhythm.entry_interval,
            publisher_interval=intent.rhythm.publisher_interval,
        )
    if intent.redirect is not None:
        values.update(redirect_url=intent.redirect.url, redirect_count=intent.redirect.count)
    if intent.relocation is not None:
        values.update(
            effective_url=intent.relocation.url, effective_url_source=intent.relocation.source
        )
    return values


def _feed_state(disabled: bool, failing: bool, last_status: str | None) -> str:
    if disabled:
        return "disabled"
    if failing:
        return "failing"
    if last_status is None:
        return "never_polled"
    return "error" if last_status in ("error", "gone") else "ok"


class _LeaseLost(Exception):
    """Our lease on a feed expired and another node took it: roll back, record nothing."""


class Store:
    """Async access to the state database; open with :meth:`open`, close with :meth:`close`."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, lock: engine_mod.StateLock | None
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{engine_mod.WRITE: True})
        self._lock = lock
        self.now = clock
        self.dialect = engine.dialect.name
        self._insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self.story_policy = StoryPolicy()

    @classmethod
    async def open(cls, state: str, clock: Clock, *, exclusive: bool = False) -> Store:
        """Connect, migrate, and with ``exclusive`` take the single-node lock (SQLite only)."""
        url = engine_mod.database_url(state)
        lock = None
        if exclusive and url.get_backend_name() == "sqlite":
            lock = engine_mod.StateLock(Path(url.database or ""))
            lock.acquire()
        engine = engine_mod.create_engine(url)
        try:
            await engine_mod.migrate(engine)
        except (OSError, sa.exc.SQLAlchemyError) as e:
            await engine.dispose()
            if lock:
                lock.release()
            raise StoreError(
                f"cannot open state {url.render_as_string(hide_password=True)}: {e}"
            ) from e
        return cls(engine, clock, lock)

    @property
    def single_node(self) -> bool:
        return self._lock is not None

    async def close(self) -> None:
        await self._engine.dispose()
        if self._lock:
            self._lock.release()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.begin() as conn:
            yield conn

    # --- feeds ---------------------------------------------------------------------------------

    async def sync_feeds(self, configured: Sequence[FeedSchedule], rate: float = 50.0) -> None:
        """Make the store's feeds those of the config; removed feeds keep their state, inactive.

        New feeds are spread out at about ``rate`` first polls per second (at least over 5 s, at
        most over their interval) so a large config does not poll everything at once. A shorter
        interval brings a feed's next poll forward.
        """
        now = self.now()
        f = feeds.c
        wanted = {feed.url: feed for feed in configured}
        async with self._write() as conn:
            rows = (
                await conn.execute(
                    sa.select(f.id, f.url, f.name, f.active, f.next_poll_at, f.last_attempt_at)
                )
            ).all()
            known = {row.url: row for row in rows}
            spread = max(5.0, sum(1 for url in wanted if url not in known) / rate)
            for row in rows:
                if row.url not in wanted and row.active:
                    await conn.execute(feeds.update().where(f.id == row.id).values(active=False))
            for url, spec in wanted.items():
                if url not in known:
                    delay = random.uniform(0, min(spread, spec.interval))
                    await conn.execute(
                        feeds.insert().values(
                            url=url,
                            name=spec.name,
                            active=True,
                            created_at=now,
                            next_poll_at=now + timedelta(seconds=delay),
                        )
                    )
                    continue
                row = known[url]
                values: dict[str, Any] = {}
                if not row.active:
                    values["active"] = True
                if row.name != spec.name:
                    values["name"] = spec.name
                latest = (row.last_attempt_at or now) + timedelta(seconds=spec.interval)
                if row.next_poll_at > latest:
                    values["next_poll_at"] = latest
                if values:
                    await conn.execute(feeds.update().where(f.id == row.id).values(**values))

    async def release_leases(self) -> None:
        """Forget every lease; only for a single node at start, when no lease can be alive."""
        async with self._write() as conn:
            await conn.execute(
                feeds.update()
                .where(feeds.c.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None)
            )
            await conn.execute(
                alerts.update()
                .where(alerts.c.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None)
            )

    async def claim_due_feeds(
        self, node: str, lease: float, limit: int, *, due_before: datetime | None = None
    ) -> list[FeedForUpdate]:
        """Lease up to ``limit`` active feeds whose poll time has come and nobody else holds."""
        now = self.now()
        f = feeds.c
        due = (
            sa.select(f.id)
            .where(
                f.active.is_(True),
                f.disabled_at.is_(None),
                f.next_poll_at <= (due_before or now),
                sa.or_(f.lease_until.is_(None), f.lease_until < now),
            )
            .order_by(f.next_poll_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            feeds.update()
            .where(f.id.in_(due.scalar_subquery()))
            .values(lease_owner=node, lease_until=now + timedelta(seconds=lease))
            .returning(
                f.id,
                f.url,
                f.etag,
                f.last_modified,
                f.body_hash,
                f.synced_at,
                f.consecutive_failures,
                f.effective_url,
                f.scan_hash,
                f.entry_interval,
                f.publisher_interval,
                f.redirect_url,
                f.redirect_count,
                f.identity,
            )
        )
        async with self._write() as conn:
            rows = (await conn.execute(claim)).all()
        return [
            FeedForUpdate(
                row.id,
                row.url,
                row.etag,
                row.last_modified,
                row.body_hash,
                row.synced_at is not None,
                row.consecutive_failures,
                effective_url=row.effective_url,
                scan_hash=row.scan_hash,
                entry_interval=row.entry_interval,
                publisher_interval=row.publisher_interval,
                redirect_url=row.redirect_url,
                redirect_count=row.redirect_count,
                identity=row.identity,
            )
            for row in sorted(rows, key=lambda r: r.id)
        ]

    async def release_feed(self, feed_id: int, node: str) -> None:
        """Give up our lease on a feed without recording a poll."""
        async with self._write() as conn:
            await conn.execute(
                feeds.update()
                .where(feeds.c.id == feed_id, feeds.c.lease_owner == node)
                .values(lease_owner=None, lease_until=None)
            )

    async def get_entries_for_update(
        self, feed_id: int, keys: Iterable[str]
    ) -> dict[str, StoredEntry]:
        keys = list(keys)
        if not keys:
            return {}
        e = entries.c
        async with self._read() as conn:
            rows = (
                await conn.execute(_stored_entries().where(e.feed_id == feed_id, e.key.in_(keys)))
            ).all()
        return {row.key: _stored(row) for row in rows}

    async def find_entries(
        self, feed_id: int, links: Iterable[str], hashes: Iterable[str]
    ) -> tuple[dict[str, StoredEntry], dict[str, StoredEntry]]:
        """The feed's entries with these canonical links, and those with these content hashes,
        whatever their key: an entry whose GUID changed is still the entry it was. The oldest
        entry wins where several share a link or a text."""
        links, hashes = sorted(set(links)), sorted(set(hashes))
        if not links and not hashes:
            return {}, {}
        e = entries.c
        found: tuple[dict[str, StoredEntry], dict[str, StoredEntry]] = ({}, {})
        async with self._read() as conn:
            for column, wanted, into in (
                (e.canonical_url, links, found[0]),
                (e.content_hash, hashes, found[1]),
            ):
                for start in range(0, len(wanted), 500):
                    query = (
                        _stored_entries()
                        .add_columns(column.label("found_by"))
                        .where(e.feed_id == feed_id, column.in_(wanted[start : start + 500]))
                        .order_by(e.id)
                    )
                    for row in await conn.execute(query):
                        into.setdefault(row.found_by, _stored(row))
        return found

    async def story_rules(self, story_ids: Iterable[int]) -> dict[int, set[str]]:
        """The rules that already matched each story (at any revision, in any of its feeds)."""
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        e, m = entries.c, matches.c
        query = (
            sa.select(e.story_id, m.rule_id)
            .distinct()
            .join(matches, m.entry_id == e.id)
            .where(e.story_id.in_(ids))
        )
        found: dict[int, set[str]] = {}
        async with self._read() as conn:
            for row in await conn.execute(query):
                found.setdefault(row.story_id, set()).add(row.rule_id)
        return found

    async def get_newest_entry_date(self, feed_id: int, before: datetime) -> datetime | None:
        """The publish date of a feed's newest stored entry dated no later than ``before``."""
        e = entries.c
        query = sa.select(sa.func.max(e.published_at)).where(
            e.feed_id == feed_id, e.published_at <= before
        )
        async with self._read() as conn:
            newest: datetime | None = (await conn.execute(query)).scalar()
        return newest

    async def record_update(self, intent: FeedUpdateIntent, node: str) -> RecordOutcome:
        """Save one poll's outcome atomically; refused (nothing written) if our lease was lost."""
        try:
            async with self._write() as conn:
                if not await self._update_feed(conn, intent, node):
                    raise _LeaseLost
                created = await write_entries(
                    conn,
                    self._insert,
                    intent.feed_id,
                    intent.entries,
                    intent.attempted_at,
                    self.story_policy,
                )
        except _LeaseLost:
            return RecordOutcome(recorded=False)
        return RecordOutcome(recorded=True, alerts=created)

    async def record_polls(
        self, intents: Sequence[FeedUpdateIntent], node: str
    ) -> list[RecordOutcome]:
        """Save many polls that found no entry to write, in one transaction.

        Most polls find nothing new (a 304, the same bytes, no entry changed); on SQLite each
        transaction is an fsync, so committing them together is most of the speed of a cycle.
        It keeps the guarantee that validators are saved with the entries they led to: these
        polls led to none. A poll whose lease was lost is simply not written.
        """
        if any(intent.entries for intent in intents):
            raise ValueError("record_polls takes polls without entries; use record_update")
        async with self._write() as conn:
            return [
                RecordOutcome(recorded=await self._update_feed(conn, intent, node))
                for intent in intents
            ]

    async def _update_feed(
        self, conn: AsyncConnection, intent: FeedUpdateIntent, node: str
    ) -> bool:
        """Write the feed row of one poll; False if another node holds the lease now."""
        f = feeds.c
        result = await conn.execute(
            feeds.update()
            .where(f.id == intent.feed_id, f.lease_owner == node)
            .values(**_feed_values(intent))
        )
        if not result.rowcount:
            return False
        if intent.seen is not None:
            await touch_seen(conn, intent.feed_id, intent.seen, intent.attempted_at)
        return True

    # --- alerts --------------------------------------------------------------------------------

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
        disabled = sa.select(sinks.c.name).where(sinks.c.disabled_at.is_not(None))
        due = (
            sa.select(a.id)
            .where(
                a.state == "pending",
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
        claim = (
            alerts.update()
            .where(a.id.in_(due.scalar_subquery()))
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

    async def mark_delivered(self, alert_id: str) -> None:
        """The sink acknowledged: never deliver this alert again.

        An acknowledgement is a fact whoever holds the lease now: it also settles a row whose
        lease passed to another claim, or that another claim gave up on (dead). A row already
        delivered keeps its first ``delivered_at``; a digested one stays in its digest.
        """
        async with self._write() as conn:
            await conn.execute(
                alerts.update()
                .where(alerts.c.id == alert_id, alerts.c.state.in_(("pending", "dead")))
                .values(
                    state="delivered",
                    delivered_at=self.now(),
                    lease_owner=None,
                    lease_until=None,
                    last_error=None,
                )
            )

    @staticmethod
    def _claim_holds(alert_id: str, node: str, attempt: int | None) -> list[sa.ColumnElement[bool]]:
        """The claim ``node`` made (as attempt ``attempt``) still holds the pending row.

        A delivery that outlived its lease must not settle a failure: by then another node, or
        a later claim of this one, may hold the row or have delivered it.
        """
        a = alerts.c
        held = [a.id == alert_id, a.lease_owner == node, a.state == "pending"]
        if attempt is not None:
            held.append(a.attempts == attempt)
        return held

    async def schedule_retry(
        self, alert_id: str, node: str, at: datetime, error: str, *, attempt: int | None = None
    ) -> None:
        async with self._write() as conn:
            await conn.execute(
                alerts.update()
                .where(*self._claim_holds(alert_id, node, attempt))
                .values(next_attempt_at=at, last_error=error, lease_owner=None, lease_until=None)
            )

    async def mark_dead(
        self, alert_id: str, node: str, error: str, *, attempt: int | None = None
    ) -> None:
        async with self._write() as conn:
            await conn.execute(
                alerts.update()
                .where(*self._claim_holds(alert_id, node, attempt))
                .values(state="dead", last_error=error, lease_owner=None, lease_until=None)
            )

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
                await conn.execute(
                    alerts.update()
                    .where(alerts.c.id == alert_id, alerts.c.state == "pending")
                    .values(
                        next_attempt_at=now, last_error=reason, lease_owner=None, lease_until=None
                    )
                )
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
                .where(alerts.c.state == "pending", alerts.c.sink.not_in(list(fingerprints)))
                .values(
                    state="dead",
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

    async def collect_digest(
        self, sink: str, digest_id: str, cut: datetime, payload: DigestPayload
    ) -> int:
        """Gather the alerts ``sink`` held until ``cut`` into one digest alert, atomically.

        Returns how many alerts the digest holds (0: nothing to send, or another node already
        cut this digest: its id is derived from the sink and ``cut``). Held alerts become
        ``digested`` and point at the digest, which is then delivered, retried and replayed like
        any alert. ``last_digest_at`` moves to ``cut`` either way.
        """
        a = alerts.c
        now = self.now()
        async with self._write() as conn:
            await self._ensure_sink(conn, sink)
            since = (
                await conn.execute(sa.select(sinks.c.last_digest_at).where(sinks.c.name == sink))
            ).scalar_one()
            if since is not None and since >= cut:
                return 0
            held = (
                await conn.execute(
                    sa.select(a.id, a.payload, a.story_id, a.entry_id)
                    .where(
                        a.sink == sink,
                        a.state == "pending",
                        a.kind != "digest",
                        a.created_at <= cut,
                        sa.or_(a.lease_until.is_(None), a.lease_until < now),
                    )
                    .order_by(a.created_at, a.id)
                    .with_for_update()
                )
            ).all()
            await conn.execute(
                sinks.update().where(sinks.c.name == sink).values(last_digest_at=cut)
            )
            if not held:
                return 0
            reports = await self._reports(conn, {r.story_id for r in held if r.story_id})
            items = tuple(
                (r.id, _with_reports(r.payload, reports.get(r.story_id, []), r.entry_id))
                for r in held
            )
            digest = Digest(digest_id, sink, since, cut, items)
            inserted = await conn.execute(
                self._insert(alerts)
                .on_conflict_do_nothing()
                .values(
                    id=digest_id,
                    sink=sink,
                    rule_id="digest",
                    entry_id=None,
                    revision=0,
                    kind="digest",
                    payload=payload(digest),
                    state="pending",
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            if not inserted.rowcount:
                return 0
            await conn.execute(
                alerts.update()
                .where(a.id.in_([r.id for r in held]))
                .values(state="digested", digest_id=digest_id, last_error=None)
            )
        return len(held)

    async def replay_alert(self, alert_id: str) -> bool:
        """Re-queue a dead alert for delivery now; False if there is no dead alert by that id."""
        async with self._write() as conn:
            result = await conn.execute(
                alerts.update()
                .where(alerts.c.id == alert_id, alerts.c.state == "dead")
                .values(state="pending", attempts=0, next_attempt_at=self.now(), last_error=None)
            )
        return bool(result.rowcount)

    # --- reports -------------------------------------------------------------------------------

    async def list_feeds(self) -> list[dict[str, Any]]:
        f, e = feeds.c, entries.c
        counts = sa.select(e.feed_id, sa.func.count().label("n")).group_by(e.feed_id).subquery()
        query = (
            sa.select(
                f.url,
                f.name,
                f.title,
                f.active,
                f.last_status,
                f.last_error,
                f.last_success_at,
                f.last_attempt_at,
                f.consecutive_failures,
                f.next_poll_at,
                f.effective_url,
                f.effective_url_source,
                f.last_error_kind,
                f.failing_since,
                f.disabled_at,
                f.disabled_reason,
                f.entry_interval,
                f.publisher_interval,
                f.identity,
                sa.func.coalesce(counts.c.n, 0).label("entries"),
            )
            .outerjoin(counts, counts.c.feed_id == f.id)
            .order_by(f.active.desc(), f.url)
        )
        async with self._read() as conn:
            return [dict(row._mapping) for row in (await conn.execute(query)).all()]

    async def enable_feed(self, url: str) -> bool:
        """Poll a disabled (410 Gone) feed again, now; False if no disabled feed has that URL."""
        async with self._write() as conn:
            result = await conn.execute(
                feeds.update()
                .where(feeds.c.url == url, feeds.c.disabled_at.is_not(None))
                .values(
                    disabled_at=None,
                    disabled_reason=None,
                    consecutive_failures=0,
                    failing_since=None,
                    next_poll_at=self.now(),
                )
            )
        return bool(result.rowcount)

    async def list_alerts(
        self, state: str | None = None, limit: int = 50, sink: str | None = None
    ) -> list[dict[str, Any]]:
        a, e = alerts.c, entries.c
        query = (
            sa.select(
                a.id,
                a.sink,
                a.rule_id,
                a.kind,
                a.state,
                a.attempts,
                a.last_error,
                a.created_at,
                a.delivered_at,
                a.next_attempt_at,
                a.digest_id,
                a.revision,
                a.story_id,
                a.entry_id,
                e.title,
                e.url,
            )
            .outerjoin(entries, entries.c.id == a.entry_id)
            .order_by(a.created_at.desc(), a.id)
            .limit(limit)
        )
        if state:
            query = query.where(a.state == state)
        if sink:
            query = query.where(a.sink == sink)
        async with self._read() as conn:
            rows = [dict(row._mapping) for row in (await conn.execute(query)).all()]
            others = await self._reports(conn, {r["story_id"] for r in rows if r["story_id"]})
        for row in rows:
            row["also_reported_by"] = [
                report
                for report in others.get(row["story_id"], [])
                if report["entry_id"] != row["entry_id"]
            ]
        return rows

    async def _reports(
        self, conn: AsyncConnection, story_ids: set[int]
    ) -> dict[int, list[dict[str, Any]]]:
        if not story_ids:
            return {}
        e, f = entries.c, feeds.c
        query = (
            sa.select(
                e.story_id,
                e.id.label("entry_id"),
                e.title,
                e.url,
                e.first_seen_at,
                sa.func.coalesce(f.name, f.title, f.url).label("feed"),
                f.url.label("feed_url"),
            )
            .join(feeds, f.id == e.feed_id)
            .where(e.story_id.in_(sorted(story_ids)))
            .order_by(e.first_seen_at, e.id)
        )
        found: dict[int, list[dict[str, Any]]] = {}
        for row in await conn.execute(query):
            report = dict(row._mapping)
            found.setdefault(report.pop("story_id"), []).append(report)
        return found

    # --- retention -----------------------------------------------------------------------------

    async def prune(
        self,
        *,
        entries_after: timedelta,
        tombstones_after: timedelta,
        alerts_after: timedelta,
    ) -> dict[str, int]:
        """Forget what is old, keeping what identity and single alerts need.

        An entry its feed has not listed for ``entries_after`` loses its text, revisions and
        matches but keeps its key and hashes (a tombstone: it is never new again); a tombstone
        not listed for ``tombstones_after`` goes. A delivered alert older than ``alerts_after``
        loses its payload but keeps its row, the key that keeps it single, until its story
        goes: when no entry tells it any more. Band keys and sketches go after the story window.
        Returns how many rows each step touched.
        """
        now = self.now()
        e, a, s, f = entries.c, alerts.c, stories.c, feeds.c
        counts: dict[str, int] = {}
        # An entry its feed still lists is kept, however long the feed answers 304; a removed
        # feed's entries age from their last sighting.
        unlisted = sa.or_(e.listed.is_(False), f.active.is_(False))

        async def run(name: str, statement: Any) -> None:
            counts[name] = (await conn.execute(statement)).rowcount

        async with self._write() as conn:
            old = (
                sa.select(e.id)
                .join(feeds, f.id == e.feed_id)
                .where(e.pruned_at.is_(None), e.last_seen_at < now - entries_after, unlisted)
            )
            await run("revisions", revisions.delete().where(revisions.c.entry_id.in_(old)))
            await run("matches", matches.delete().where(matches.c.entry_id.in_(old)))
            await run(
                "entries",
                entries.update()
                .where(e.id.in_(old))
                .values(title="", summary="", content="", pruned_at=now),
            )
            gone = (
                sa.select(e.id)
                .join(feeds, f.id == e.feed_id)
                .where(e.pruned_at.is_not(None), e.last_seen_at < now - tombstones_after, unlisted)
            )
            await run("tombstone_alerts", alerts.delete().where(a.entry_id.in_(gone)))
            await run("tombstones", entries.delete().where(e.id.in_(gone)))
            told = sa.select(e.story_id).where(e.story_id.is_not(None))
            await run(
                "story_alerts",
                alerts.delete().where(a.story_id.is_not(None), a.story_id.not_in(told)),
            )
            await run("stories", stories.delete().where(s.id.not_in(told)))
            await run(
                "payloads",
                alerts.update()
                .where(
                    a.state.in_(("delivered", "digested")),
                    a.created_at < now - alerts_after,
                    sa.cast(a.payload, sa.Text) != "{}",
                )
                .values(payload={}),
            )
            await run(
                "digests",
                alerts.delete().where(
                    a.kind == "digest", a.state == "delivered", a.created_at < now - alerts_after
                ),
            )
            past = sa.select(s.id).where(
                s.first_seen_at < now - self.story_policy.window, s.sketch.is_not(None)
            )
            await run("bands", story_bands.delete().where(story_bands.c.story_id.in_(past)))
            await run("sketches", stories.update().where(s.id.in_(past)).values(sketch=None))
        return counts

    async def list_sinks(self) -> list[dict[str, Any]]:
        """Each known sink's state, with how many of its alerts are in each delivery state."""
        a = alerts.c
        counts = sa.select(a.sink, a.state, sa.func.count().label("n")).group_by(a.sink, a.state)
        async with self._read() as conn:
            rows = (await conn.execute(sa.select(sinks).order_by(sinks.c.name))).all()
            tallies = (await conn.execute(counts)).all()
        result = {row.name: {**row._mapping, "alerts": {}} for row in rows}
        for tally in tallies:
            result.setdefault(tally.sink, {"name": tally.sink, "alerts": {}})
            result[tally.sink]["alerts"][tally.state] = tally.n
        return [result[name] for name in sorted(result)]

    async def tally_state(self) -> StateTally:
        """Active feeds by state (ok, error, failing, disabled, never_polled) and pending or dead
        alerts by sink: two grouped counts, cheap enough to run on every metrics scrape."""
        f, a = feeds.c, alerts.c
        flags = (f.disabled_at.is_not(None), f.failing_since.is_not(None), f.last_status)
        by_feed = sa.select(*flags, sa.func.count()).where(f.active).group_by(*flags)
        by_sink = (
            sa.select(a.sink, a.state, sa.func.count())
            .where(a.state.in_(("pending", "dead")))
            .group_by(a.sink, a.state)
        )
        async with self._read() as conn:
            feed_rows = (await conn.execute(by_feed)).all()
            sink_rows = (await conn.execute(by_sink)).all()
        states: dict[str, int] = {}
        for disabled, failing, status, n in feed_rows:
            state = _feed_state(disabled, failing, status)
            states[state] = states.get(state, 0) + n
        return StateTally(states, {(sink, state): n for sink, state, n in sink_rows})

    async def count(self, table: str, **where: Any) -> int:
        """Rows in ``table`` matching column equalities (for status lines and tests)."""
        tables = {
            "feeds": feeds,
            "entries": entries,
            "matches": matches,
            "alerts": alerts,
            "sinks": sinks,
            "stories": stories,
            "story_bands": story_bands,
            "revisions": revisions,
        }
        t = tables[table]
        query = sa.select(sa.func.count()).select_from(t)
        for column, value in where.items():
            query = query.where(t.c[column] == value)
        async with self._read() as conn:
            return int((await conn.execute(query)).scalar_one())
