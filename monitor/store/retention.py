"""Retention: forgetting what is old while keeping what identity and single alerts need."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from monitor.base.types import AlertKind, AlertState
from monitor.store.core import StoreCore
from monitor.store.schema import (
    alerts,
    entries,
    feeds,
    hourly_counts,
    matches,
    pages,
    revisions,
    stories,
    story_bands,
)


class RetentionStore(StoreCore):
    async def prune(
        self,
        *,
        entries_after: timedelta,
        tombstones_after: timedelta,
        alerts_after: timedelta,
        counts_after: timedelta = timedelta(days=35),
    ) -> dict[str, int]:
        """Forget what is old, keeping what identity and single alerts need.

        An entry its feed has not listed for ``entries_after`` loses its text, revisions and
        matches but keeps its key and hashes (a tombstone: it is never new again); a tombstone
        not listed for ``tombstones_after`` goes. A delivered alert older than ``alerts_after``
        loses its payload but keeps its row, the key that keeps it single, until its story
        goes: when no entry tells it any more. Band keys and sketches go after the story window.
        Returns how many rows each step touched, in one transaction.
        """
        now = self.now()
        steps = [
            *_entry_steps(now - entries_after, now - tombstones_after, now),
            *_alert_steps(now - alerts_after),
            *_sketch_steps(now - self.story_policy.window),
            ("counts", hourly_counts.delete().where(hourly_counts.c.hour < now - counts_after)),
        ]
        async with self._write() as conn:
            return {name: (await conn.execute(statement)).rowcount for name, statement in steps}


Step = tuple[str, Any]
e, a, s, f = entries.c, alerts.c, stories.c, feeds.c
# An entry its feed still lists is kept, however long the feed answers 304; a removed feed's
# entries age from their last sighting.
UNLISTED = sa.or_(e.listed.is_(False), f.active.is_(False))


def _entry_steps(texts_before: datetime, tombstones_before: datetime, now: datetime) -> list[Step]:
    old = (
        sa.select(e.id)
        .join(feeds, f.id == e.feed_id)
        .where(e.pruned_at.is_(None), e.last_seen_at < texts_before, UNLISTED)
    )
    gone = (
        sa.select(e.id)
        .join(feeds, f.id == e.feed_id)
        .where(e.pruned_at.is_not(None), e.last_seen_at < tombstones_before, UNLISTED)
    )
    return [
        ("revisions", revisions.delete().where(revisions.c.entry_id.in_(old))),
        ("matches", matches.delete().where(matches.c.entry_id.in_(old))),
        ("pages", pages.delete().where(pages.c.entry_id.in_(old))),
        (
            "entries",
            entries.update()
            .where(e.id.in_(old))
            .values(title="", summary="", content="", feed_content=None, pruned_at=now),
        ),
        ("tombstone_alerts", alerts.delete().where(a.entry_id.in_(gone))),
        ("tombstones", entries.delete().where(e.id.in_(gone))),
    ]


def _alert_steps(payloads_before: datetime) -> list[Step]:
    told = sa.select(e.story_id).where(e.story_id.is_not(None))
    settled = a.state.in_((AlertState.DELIVERED, AlertState.DIGESTED, AlertState.DISCARDED))
    return [
        ("story_alerts", alerts.delete().where(a.story_id.is_not(None), a.story_id.not_in(told))),
        ("stories", stories.delete().where(s.id.not_in(told))),
        (
            "payloads",
            alerts.update()
            .where(settled, a.created_at < payloads_before, sa.cast(a.payload, sa.Text) != "{}")
            .values(payload={}),
        ),
        (
            "digests",
            alerts.delete().where(
                a.kind == AlertKind.DIGEST,
                a.state == AlertState.DELIVERED,
                a.created_at < payloads_before,
            ),
        ),
    ]


def _sketch_steps(window_start: datetime) -> list[Step]:
    past = sa.select(s.id).where(s.first_seen_at < window_start, s.sketch.is_not(None))
    return [
        ("bands", story_bands.delete().where(story_bands.c.story_id.in_(past))),
        ("sketches", stories.update().where(s.id.in_(past)).values(sketch=None)),
    ]
