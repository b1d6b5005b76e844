"""Writing one poll's entries, inside the caller's transaction: stories, revisions, matches and
one outbox row per (sink, rule, story, revision).

A new entry joins the story its canonical link already belongs to, else a story whose sketch is
near enough (found through the band index, within the story window), else starts one. Stories
are assigned here, in the write transaction, so that two feeds carrying the same story cannot
both start it: on SQLite writes are serialised, and on PostgreSQL the unique canonical link
decides (a race between two near-duplicate texts on two nodes can still make two stories).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.alerts import alert_id
from monitor.store.schema import alerts, entries, matches, revisions, stories, story_bands
from monitor.stories import SAME_STORY, band_keys, pack, similarity, unpack
from monitor.types import ChangeKind, EntryChange, EntryWrite

Insert = Callable[[sa.Table], Any]
# How precisely an entry's last sighting is kept: retention is counted in months.
SEEN_STEP = timedelta(hours=6)
# A document listing more keys than this leaves the listed flags as they are (one statement
# must hold every key).
MAX_UNLIST = 5000


@dataclass(frozen=True)
class StoryPolicy:
    """How stories are told apart: copies within ``window`` at ``similarity`` or more merge."""

    window: timedelta = timedelta(days=3)
    similarity: float = SAME_STORY


@dataclass
class _Candidates:
    """Stories a batch of new entries may join, by link and by sketch."""

    by_url: dict[str, int] = field(default_factory=dict)
    sketches: dict[int, tuple[int, ...]] = field(default_factory=dict)


async def write_entries(
    conn: AsyncConnection,
    insert: Insert,
    feed_id: int,
    writes: Sequence[EntryWrite],
    now: datetime,
    policy: StoryPolicy,
) -> int:
    """Write the entries of one poll; returns how many outbox rows were created."""
    created = 0
    candidates = await _candidates(
        conn, [w for w in writes if w.change.kind is ChangeKind.NEW], now, policy
    )
    for write in writes:
        change = write.change
        if change.kind is ChangeKind.NEW:
            story = await _story_for(conn, insert, write, candidates, now, policy)
            entry_id = await _insert_entry(conn, insert, feed_id, change, story, now)
            if entry_id is None:
                continue  # inserted concurrently by another node, which also alerted for it
            revision = 0
        elif change.stored is not None:  # updated, or known under another key
            entry_id = change.stored.id
            known_story = change.stored.story_id
            story = (
                known_story
                if known_story is not None
                else await _story_for(conn, insert, write, candidates, now, policy)
            )
            revision = await _update_entry(conn, insert, change, story, now)
        else:
            continue
        for rule_id, hits in write.matches:
            await conn.execute(
                insert(matches)
                .on_conflict_do_nothing()
                .values(
                    entry_id=entry_id,
                    rule_id=rule_id,
                    revision=revision,
                    hits=hits,
                    created_at=now,
                )
            )
        for draft in write.alerts:
            ident = draft.id or alert_id(draft.sink, draft.rule_id, story, revision)
            result = await conn.execute(
                insert(alerts)
                .on_conflict_do_nothing()
                .values(
                    id=ident,
                    sink=draft.sink,
                    rule_id=draft.rule_id,
                    entry_id=entry_id,
                    story_id=story,
                    revision=revision,
                    kind=draft.kind,
                    payload=draft.payload,
                    state="pending",
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            created += result.rowcount
    return created


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


async def _candidates(
    conn: AsyncConnection, new: Sequence[EntryWrite], now: datetime, policy: StoryPolicy
) -> _Candidates:
    found = _Candidates()
    urls = sorted({url for w in new if (url := _story_link(w))})
    if urls:
        s, e = stories.c, entries.c
        for row in await conn.execute(
            sa.select(s.canonical_url, s.id).where(s.canonical_url.in_(urls))
        ):
            found.by_url[row.canonical_url] = row.id
        rest = [u for u in urls if u not in found.by_url]
        if rest:  # a later outlet's own link, already told as part of one story (only one)
            query = (
                sa.select(e.canonical_url, sa.func.min(e.story_id).label("story"))
                .where(e.canonical_url.in_(rest), e.story_id.is_not(None))
                .group_by(e.canonical_url)
                .having(sa.func.count(sa.distinct(e.story_id)) == 1)
            )
            for row in await conn.execute(query):
                found.by_url[row.canonical_url] = row.story
    keys = {(band, key) for w in new if w.sketch for band, key in enumerate(band_keys(w.sketch))}
    if keys:
        b, s = story_bands.c, stories.c
        query = (
            sa.select(s.id, s.sketch)
            .distinct()
            .join(story_bands, b.story_id == s.id)
            .where(b.created_at >= now - policy.window, sa.tuple_(b.band, b.key).in_(sorted(keys)))
        )
        for row in await conn.execute(query):
            if row.sketch:
                found.sketches[row.id] = unpack(row.sketch)
    return found


async def _story_for(
    conn: AsyncConnection,
    insert: Insert,
    write: EntryWrite,
    found: _Candidates,
    now: datetime,
    policy: StoryPolicy,
) -> int:
    url = _story_link(write)
    if url and url in found.by_url:
        return found.by_url[url]
    if write.sketch:
        best = max(
            found.sketches.items(),
            default=None,
            key=lambda item: similarity(item[1], write.sketch or ()),
        )
        if best is not None and similarity(best[1], write.sketch) >= policy.similarity:
            if url:
                found.by_url[url] = best[0]
            return best[0]
    story = await _insert_story(conn, insert, url, write.sketch, now)
    if url:
        found.by_url[url] = story
    if write.sketch:
        found.sketches[story] = write.sketch
    return story


def _story_link(write: EntryWrite) -> str | None:
    return write.change.canonical_url if write.link_is_identity else None


async def _insert_story(
    conn: AsyncConnection,
    insert: Insert,
    url: str | None,
    sketch: tuple[int, ...] | None,
    now: datetime,
) -> int:
    s = stories.c
    row = (
        await conn.execute(
            insert(stories)
            .on_conflict_do_nothing()
            .values(canonical_url=url, sketch=pack(sketch) if sketch else None, first_seen_at=now)
            .returning(s.id)
        )
    ).first()
    if row is None:  # another node started this story a moment ago: join it
        return int((await conn.execute(sa.select(s.id).where(s.canonical_url == url))).scalar_one())
    story = int(row.id)
    if sketch:
        await conn.execute(
            story_bands.insert(),
            [
                {"story_id": story, "band": band, "key": key, "created_at": now}
                for band, key in enumerate(band_keys(sketch))
            ],
        )
    return story


async def _insert_entry(
    conn: AsyncConnection,
    insert: Insert,
    feed_id: int,
    change: EntryChange,
    story: int,
    now: datetime,
) -> int | None:
    entry = change.entry
    row = (
        await conn.execute(
            insert(entries)
            .on_conflict_do_nothing()
            .values(
                feed_id=feed_id,
                key=change.key,
                guid=entry.guid,
                url=entry.link,
                canonical_url=change.canonical_url,
                title=entry.title,
                summary=entry.summary,
                content=entry.content,
                language=entry.language,
                published_at=entry.published,
                content_hash=change.content_hash,
                material_hash=change.material_hash,
                first_seen_at=now,
                updated_at=now,
                last_seen_at=now,
                story_id=story,
            )
            .returning(entries.c.id)
        )
    ).first()
    return int(row.id) if row is not None else None


async def _update_entry(
    conn: AsyncConnection, insert: Insert, change: EntryChange, story: int, now: datetime
) -> int:
    """Save an edited (or re-keyed) entry; a material edit adds a revision. Returns the
    entry's revision."""
    stored = change.stored
    assert stored is not None
    if change.kind is ChangeKind.SAME:  # the same entry under a new key (its GUID changed)
        await conn.execute(
            entries.update()
            .where(entries.c.id == stored.id)
            .values(key=change.key, story_id=story, last_seen_at=now, listed=True)
        )
        return stored.revision
    entry = change.entry
    values: dict[str, Any] = {
        "key": change.key,
        "story_id": story,
        "title": entry.title,
        "summary": entry.summary,
        "content": entry.content,
        "content_hash": change.content_hash,
        "material_hash": change.material_hash,
        "canonical_url": change.canonical_url,
        "updated_at": now,
        "last_seen_at": now,
        "listed": True,
        "pruned_at": None,
    }
    revision = stored.revision
    if change.material:
        revision = change.revision
        values.update(revision=revision, hash_changes=stored.hash_changes + 1)
        await conn.execute(
            insert(revisions)
            .on_conflict_do_nothing()
            .values(
                entry_id=stored.id,
                revision=revision,
                title=entry.title,
                summary=entry.summary,
                content=entry.content,
                diff=change.diff,
                created_at=now,
            )
        )
    await conn.execute(entries.update().where(entries.c.id == stored.id).values(**values))
    return revision
