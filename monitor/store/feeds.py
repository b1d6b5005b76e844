"""Feeds and their schedule: syncing the config's feeds, claiming due ones, recording polls.

:meth:`FeedStore.record_update` is the heart of the "no alert lost" guarantee: a feed's
validators and next poll time are saved together with the entries, matches and outbox rows they
produced, so a crash at any point leaves either all of it or none of it, and a poll that is not
recorded is simply repeated.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.base.types import (
    FeedForUpdate,
    FeedUpdateIntent,
    IdentityMode,
    ItemState,
)
from monitor.store.core import StoreCore
from monitor.store.counts import bump, poll_counts
from monitor.store.entries import touch_seen
from monitor.store.feedrow import feed_update
from monitor.store.history import keep_polls, poll_row
from monitor.store.recording import PollWrites, write_entries
from monitor.store.retry import retried
from monitor.store.schema import alerts, feeds, pages
from monitor.store.sync import SYNC_CHUNK, update_known

SYNC_FEEDS_LOCK = 0x6E65_7766  # "newf": one node syncs the config's feeds at a time


@dataclass(frozen=True)
class FeedSchedule:
    """What the store needs to know of a configured feed to schedule it."""

    url: str
    name: str | None
    interval: float
    tags: tuple[str, ...] = ()

    @property
    def tag_text(self) -> str | None:
        """The tags as stored: ``,a,b,`` (so one tag is found by ``LIKE '%,a,%'``), or None."""
        return f",{','.join(self.tags)}," if self.tags else None


@dataclass(frozen=True)
class RecordOutcome:
    recorded: bool
    alerts: int = 0


# What a poll needs of its feed's row.
CLAIMED = (
    feeds.c.id,
    feeds.c.url,
    feeds.c.etag,
    feeds.c.last_modified,
    feeds.c.body_hash,
    feeds.c.synced_at,
    feeds.c.consecutive_failures,
    feeds.c.effective_url,
    feeds.c.scan_hash,
    feeds.c.entry_interval,
    feeds.c.publisher_interval,
    feeds.c.redirect_url,
    feeds.c.redirect_count,
    feeds.c.identity,
    feeds.c.next_poll_at,
    feeds.c.item_head,
    feeds.c.item_digests,
    feeds.c.items_parsed_at,
)


def _unleased(now: Any) -> Any:
    f = feeds.c
    return sa.and_(
        f.active.is_(True),
        f.disabled_at.is_(None),
        sa.or_(f.lease_until.is_(None), f.lease_until < now),
    )


@functools.cache
def _claim() -> Any:
    """Lease the ``limit`` feeds due soonest (``due_before``) that nobody holds at ``now``: the
    claim loop's statement, built once and run with parameters."""
    f = feeds.c
    now = sa.bindparam("now", type_=f.lease_until.type)
    due = (
        sa.select(f.id)
        .where(_unleased(now), f.next_poll_at <= sa.bindparam("due_before", type_=now.type))
        .order_by(f.next_poll_at)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .with_for_update(skip_locked=True)
    )
    until = sa.bindparam("until", type_=now.type)
    return (
        feeds.update()
        .where(f.id.in_(due.scalar_subquery()))
        .values(lease_owner=sa.bindparam("node"), lease_until=until)
        .returning(*CLAIMED)
    )


@functools.cache
def _next_due() -> Any:
    f = feeds.c
    now = sa.bindparam("now", type_=f.lease_until.type)
    return sa.select(sa.func.min(f.next_poll_at)).where(_unleased(now))


def _claimed(row: Any) -> FeedForUpdate:
    return FeedForUpdate(
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
        identity=IdentityMode(row.identity),
        due_at=row.next_poll_at,
        items=_items(row),
    )


def _items(row: Any) -> ItemState | None:
    if row.item_head is None or row.item_digests is None or row.items_parsed_at is None:
        return None
    return ItemState(row.item_head, bytes(row.item_digests), row.items_parsed_at)


class FeedStore(StoreCore):
    """The ``feeds`` table: what to poll when, and what each poll left."""

    @retried
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
            # Nodes starting together sync the same feeds: one at a time, each seeing the rows
            # the one before it added (and a row that appears anyway is left alone).
            await self._serialize(conn, SYNC_FEEDS_LOCK)
            rows = (
                await conn.execute(
                    sa.select(
                        f.id, f.url, f.name, f.tags, f.active, f.next_poll_at, f.last_attempt_at
                    )
                )
            ).all()
            known = {row.url: row for row in rows}
            spread = max(5.0, sum(1 for url in wanted if url not in known) / rate)
            gone = [row.id for row in rows if row.url not in wanted and row.active]
            for start in range(0, len(gone), SYNC_CHUNK):
                chunk = gone[start : start + SYNC_CHUNK]
                await conn.execute(feeds.update().where(f.id.in_(chunk)).values(active=False))
            fresh = [
                {
                    "url": url,
                    "name": spec.name,
                    "tags": spec.tag_text,
                    "active": True,
                    "created_at": now,
                    "next_poll_at": now
                    + timedelta(seconds=self.rng.uniform(0, min(spread, spec.interval))),
                }
                for url, spec in wanted.items()
                if url not in known
            ]
            insert = self._insert(feeds).on_conflict_do_nothing(index_elements=["url"])
            for start in range(0, len(fresh), SYNC_CHUNK):
                await conn.execute(insert, fresh[start : start + SYNC_CHUNK])
            await update_known(conn, known, wanted, now)

    async def release_leases(self) -> None:
        """Forget every lease; only for a single node at start, when no lease can be alive."""
        async with self._write() as conn:
            await conn.execute(
                feeds.update()
                .where(feeds.c.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None)
            )
            for table in (alerts, pages):
                await conn.execute(
                    table.update()
                    .where(table.c.lease_owner.is_not(None))
                    .values(lease_owner=None, lease_until=None)
                )

    @retried
    async def claim_due_feeds(
        self, node: str, lease: float, limit: int, *, due_before: datetime | None = None
    ) -> list[FeedForUpdate]:
        """Lease up to ``limit`` active feeds whose poll time has come and nobody else holds."""
        now = self.now()
        parameters = {
            "due_before": due_before or now,
            "now": now,
            "limit": limit,
            "node": node,
            "until": now + timedelta(seconds=lease),
        }
        async with self._write() as conn:
            rows = (await conn.execute(_claim(), parameters)).all()
        return [_claimed(row) for row in sorted(rows, key=lambda r: r.id)]

    async def next_due_at(self) -> datetime | None:
        """When the next unclaimed active feed is due (an index scan on ``next_poll_at``)."""
        async with self._read() as conn:
            due: datetime | None = (await conn.execute(_next_due(), {"now": self.now()})).scalar()
        return due

    @retried
    async def release_feed(self, feed_id: int, node: str) -> None:
        """Give up our lease on a feed without recording a poll."""
        async with self._write() as conn:
            await conn.execute(
                feeds.update()
                .where(feeds.c.id == feed_id, feeds.c.lease_owner == node)
                .values(lease_owner=None, lease_until=None)
            )

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

    @retried
    async def record_update(self, intent: FeedUpdateIntent, node: str) -> RecordOutcome:
        """Save one poll's outcome atomically; refused (nothing written) if our lease was lost."""
        return (await self._record([intent], node))[0]

    @retried
    async def record_polls(
        self, intents: Sequence[FeedUpdateIntent], node: str
    ) -> list[RecordOutcome]:
        """Save many polls in one transaction (group commit: see :mod:`monitor.store.batch`).

        Each poll's feed row, entries, matches and outbox rows are written together, so that
        validators are saved with the entries they led to, as one poll alone would; on SQLite
        each transaction is an fsync and holds the one writer, so a batch costs little more than
        one poll. A poll whose lease was lost is simply not written.
        """
        return await self._record(intents, node)

    async def _record(self, intents: Sequence[FeedUpdateIntent], node: str) -> list[RecordOutcome]:
        async with self._write() as conn:
            polls = [await self._update_feed(conn, intent, node) for intent in intents]
            recorded = [(i, p) for i, p in zip(intents, polls, strict=True) if p is not None]
            created = await write_entries(
                conn,
                self._insert,
                [PollWrites(i.feed_id, i.attempted_at, i.entries) for i, _ in recorded],
                self.story_policy,
            )
            await bump(conn, self._insert, poll_counts(i for i, _ in recorded))
            await keep_polls(conn, self._insert, [poll_row(i, p) for i, p in recorded])
        alerts = iter(created)
        return [
            RecordOutcome(recorded=True, alerts=next(alerts))
            if poll is not None
            else RecordOutcome(recorded=False)
            for poll in polls
        ]

    async def _update_feed(
        self, conn: AsyncConnection, intent: FeedUpdateIntent, node: str
    ) -> int | None:
        """Write the feed row of one poll; returns the feed's count of recorded polls, None if
        another node holds the lease now."""
        poll = (await conn.execute(*feed_update(intent, node))).scalar()
        if poll is None:
            return None
        if intent.seen is not None:
            await touch_seen(conn, intent.feed_id, intent.seen, intent.attempted_at)
        return int(poll)
