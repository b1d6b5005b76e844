"""A feed's entries as the store knows them: read for deciding a poll, marked as seen after it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.base.types import StoredEntry
from monitor.store.core import StoreCore
from monitor.store.schema import entries, matches

# How precisely an entry's last sighting is kept: retention is counted in months.
SEEN_STEP = timedelta(hours=6)
# A document listing more keys than this leaves the listed flags as they are (one statement
# must hold every key).
MAX_UNLIST = 5000


async def touch_seen(
    conn: AsyncConnection, feed_id: int, keys: Sequence[str], now: datetime
) -> None:
    """The parsed document lists these keys: they were seen now (retention counts from the
    last sighting, kept to within ``SEEN_STEP`` so that most parses write no row here), and
    the feed's other entries are no longer listed."""
    e = entries.c
    for start in range(0, len(keys), 500):
        await conn.execute(
            entries.update()
            .where(
                e.feed_id == feed_id,
                e.key.in_(keys[start : start + 500]),
                sa.or_(e.last_seen_at < now - SEEN_STEP, e.listed.is_(False)),
            )
            .values(last_seen_at=now, listed=True)
        )
    if len(keys) <= MAX_UNLIST:
        await conn.execute(
            entries.update()
            .where(e.feed_id == feed_id, e.listed.is_(True), e.key.not_in(keys))
            .values(listed=False)
        )


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
        e.feed_content,
        e.page_at,
    )


def _stored(row: Any) -> StoredEntry:
    """A stored entry; its ``text`` is the feed's own, also once its page was read."""
    text = page = None
    if row.pruned_at is None:
        own = row.content if row.page_at is None else (row.feed_content or "")
        text = (row.title, row.summary, own)
        page = None if row.page_at is None else (row.content, row.page_at)
    return StoredEntry(
        row.id,
        row.key,
        row.content_hash,
        row.material_hash,
        row.revision,
        row.hash_changes,
        row.story_id,
        text,
        page,
    )


class EntryStore(StoreCore):
    """What the store knows of a feed's entries and their stories, for deciding a poll."""

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
