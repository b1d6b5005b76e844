"""Retention: forgetting what is old while keeping what identity and single alerts need."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from monitor.store.core import StoreCore
from monitor.store.schema import alerts, entries, feeds, matches, revisions, stories, story_bands


class RetentionStore(StoreCore):
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
