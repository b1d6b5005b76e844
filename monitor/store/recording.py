"""Writing one poll's entries, inside the caller's transaction: stories, revisions, matches and
one outbox row per (sink, rule, story, revision).

A new entry joins the story its canonical link already belongs to, else a story whose sketch is
near enough (found through the band index, within the story window), else starts one: the
decision is :class:`monitor.stages.stories.StoryCandidates`, over the candidates read here.
Stories are assigned in the write transaction, so that two feeds carrying the same story cannot
both start it: on SQLite writes are serialised, and on PostgreSQL the unique canonical link
decides (a race between two near-duplicate texts on two nodes can still make two stories).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.base.ids import alert_id
from monitor.base.types import AlertDraft, AlertState, ChangeKind, EntryWrite
from monitor.stages.stories import StoryCandidates, StoryPolicy, band_keys, pack, unpack
from monitor.store.schema import alerts, entries, matches, pages, revisions, stories, story_bands

Insert = Callable[[sa.Table], Any]


@dataclass(frozen=True)
class PollWrites:
    """The entries one poll of one feed writes, at the time it polled."""

    feed_id: int
    at: datetime
    writes: Sequence[EntryWrite]


@dataclass(frozen=True)
class _Write:
    poll: int  # its index in the batch
    feed_id: int
    at: datetime
    write: EntryWrite


async def write_entries(
    conn: AsyncConnection, insert: Insert, polls: Sequence[PollWrites], policy: StoryPolicy
) -> list[int]:
    """Write the entries of a batch of polls, a few statements for the whole batch; returns how
    many outbox rows each poll created."""
    flat = [_Write(i, p.feed_id, p.at, w) for i, p in enumerate(polls) for w in p.writes]
    if not flat:
        return [0] * len(polls)
    now = max(p.at for p in polls)
    stories_of = await _place(conn, insert, [f.write for f in flat], now, policy)
    entry_ids = await _insert_entries(conn, insert, flat, stories_of)
    match_rows: list[dict[str, Any]] = []
    alert_rows: list[dict[str, Any]] = []
    page_rows: list[dict[str, Any]] = []
    poll_of: dict[int, int] = {}  # entry id -> the poll that wrote it
    for item, story, entry_id in zip(flat, stories_of, entry_ids, strict=True):
        write, change = item.write, item.write.change
        if change.kind is ChangeKind.NEW:
            if entry_id is None:
                continue  # inserted concurrently by another node, which also alerted for it
            revision = 0
        elif change.stored is not None and story is not None:
            entry_id = change.stored.id
            revision = await _update_entry(conn, insert, write, story, item.at)
        else:
            continue
        poll_of[entry_id] = item.poll
        if write.page is not None:
            page_rows.append(_page_row(write, entry_id, item.feed_id, item.at))
        match_rows += [
            {
                "entry_id": entry_id,
                "rule_id": rule_id,
                "revision": revision,
                "hits": hits,
                "created_at": item.at,
            }
            for rule_id, hits in write.matches
        ]
        alert_rows += [
            {**alert_row(draft, entry_id, story, revision), **_pending(item.at)}
            for draft in write.alerts
        ]
    if page_rows:
        await write_pages(conn, insert, page_rows)
    created = [0] * len(polls)
    for entry_id in await _insert_matches(conn, insert, match_rows, alert_rows):
        created[poll_of[entry_id]] += 1
    return created


async def write_matches(
    conn: AsyncConnection,
    insert: Insert,
    match_rows: Sequence[dict[str, Any]],
    alert_rows: Sequence[dict[str, Any]],
    now: datetime,
) -> int:
    """Insert matches and outbox rows (an alert its story already has is dropped); returns how
    many outbox rows were created."""
    matched = [{**row, "created_at": now} for row in match_rows]
    alerted = [{**row, **_pending(now)} for row in alert_rows]
    return len(await _insert_matches(conn, insert, matched, alerted))


def _pending(at: datetime) -> dict[str, Any]:
    return {"state": AlertState.PENDING, "next_attempt_at": at, "created_at": at}


async def _insert_matches(
    conn: AsyncConnection,
    insert: Insert,
    match_rows: Sequence[dict[str, Any]],
    alert_rows: Sequence[dict[str, Any]],
) -> list[int]:
    """Insert matches and outbox rows (complete rows); returns the entry id of each outbox row
    created."""
    if match_rows:
        await conn.execute(insert(matches).on_conflict_do_nothing(), list(match_rows))
    if not alert_rows:
        return []
    result = await conn.execute(
        insert(alerts).on_conflict_do_nothing().returning(alerts.c.entry_id), list(alert_rows)
    )
    return [int(row.entry_id) for row in result.all()]


async def _place(
    conn: AsyncConnection,
    insert: Insert,
    writes: Sequence[EntryWrite],
    now: datetime,
    policy: StoryPolicy,
) -> list[int | None]:
    """Each write's story: a known entry keeps its own, a new one is placed (starting the
    stories it needs); None for a known entry without one (recorded before stories)."""
    new = [w for w in writes if w.change.kind is ChangeKind.NEW]
    candidates = await _candidates(conn, new, now, policy)
    placed: list[int | None] = []  # a negative story is a fresh one, not inserted yet
    for write in writes:
        stored = write.change.stored
        if write.change.kind is ChangeKind.NEW:
            placed.append(candidates.place(_story_link(write), write.sketch))
        elif stored is not None and stored.story_id is not None:
            placed.append(stored.story_id)
        elif stored is not None:  # recorded before stories: it gets one now
            placed.append(candidates.place(_story_link(write), write.sketch))
        else:
            placed.append(None)
    started = await _insert_stories(conn, insert, candidates.fresh, now)
    return [started[-s - 1] if s is not None and s < 0 else s for s in placed]


async def write_pages(
    conn: AsyncConnection, insert: Insert, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert or replace entries' page rows (an edit's page read again replaces its row)."""
    stmt = insert(pages)
    replaced = {c: stmt.excluded[c] for c in rows[0] if c != "entry_id"}
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=[pages.c.entry_id], set_=replaced), list(rows)
    )


def _page_row(write: EntryWrite, entry_id: int, feed_id: int, now: datetime) -> dict[str, Any]:
    page = write.page
    assert page is not None
    owed = page.state == "owed"
    return {
        "entry_id": entry_id,
        "feed_id": feed_id,
        "url": page.url,
        "state": page.state,
        "kind": page.kind,
        "reason": page.reason,
        "attempts": 0 if page.kind is None else 1,  # a failed try counts
        "next_attempt_at": now + timedelta(seconds=page.retry_in) if owed else None,
        "lease_owner": None,
        "lease_until": None,
        "created_at": now,
        "settled_at": None if owed else now,
    }


def alert_row(draft: AlertDraft, entry_id: int, story: int | None, revision: int) -> dict[str, Any]:
    return {
        "id": draft.id or alert_id(draft.sink, draft.rule_id, story, revision),
        "sink": draft.sink,
        "rule_id": draft.rule_id,
        "entry_id": entry_id,
        "story_id": story,
        "revision": revision,
        "kind": draft.kind,
        "payload": draft.payload,
    }


async def _insert_stories(
    conn: AsyncConnection,
    insert: Insert,
    fresh: Sequence[tuple[str | None, tuple[int, ...] | None]],
    now: datetime,
) -> list[int]:
    """Start these stories in one statement; returns their ids in order. A link another node
    started a story for a moment ago joins that story instead (the upsert returns its id).

    Rows come back in no promised order (asking for one makes SQLAlchemy send a statement per
    row), so they are matched by link, else by sketch: fresh stories without a link that
    share a sketch are alike in every stored field, and which gets which id does not matter.
    """
    if not fresh:
        return []
    s = stories.c
    stmt = insert(stories)
    stmt = stmt.on_conflict_do_update(
        index_elements=[s.canonical_url], set_={"canonical_url": stmt.excluded.canonical_url}
    ).returning(s.id, s.canonical_url, s.sketch)
    rows = [
        {"canonical_url": url, "sketch": pack(sketch) if sketch else None, "first_seen_at": now}
        for url, sketch in fresh
    ]
    by_url: dict[str, int] = {}
    by_sketch: dict[bytes | None, list[int]] = {}
    for row in (await conn.execute(stmt, rows)).all():
        if row.canonical_url is not None:
            by_url[row.canonical_url] = int(row.id)
        else:
            by_sketch.setdefault(row.sketch, []).append(int(row.id))
    ids = [
        by_url[url] if url is not None else by_sketch[pack(sketch) if sketch else None].pop()
        for url, sketch in fresh
    ]
    bands = [
        (story, band, key)
        for story, (_, sketch) in zip(ids, fresh, strict=True)
        if sketch
        for band, key in enumerate(band_keys(sketch))
    ]
    if bands:  # 16 rows a story: straight to the driver (SQLAlchemy's per-row work was most of it)
        marks = "?, ?, ?" if conn.dialect.paramstyle == "qmark" else "$1, $2, $3"
        await conn.exec_driver_sql(_BANDS.format(table=story_bands.name, marks=marks), bands)
    return ids


_BANDS = "INSERT INTO {table} (story_id, band, key) VALUES ({marks}) ON CONFLICT DO NOTHING"


async def _insert_entries(
    conn: AsyncConnection, insert: Insert, flat: Sequence[_Write], stories_of: Sequence[int | None]
) -> list[int | None]:
    """Insert the new entries; returns each write's new entry id (None: not new, or another
    node inserted it first)."""
    rows = [
        {
            "feed_id": item.feed_id,
            "key": change.key,
            "guid": change.entry.guid,
            "url": change.entry.link,
            "canonical_url": change.canonical_url,
            "title": change.entry.title,
            "summary": change.entry.summary,
            "content": change.entry.content,
            "feed_content": item.write.feed_content,
            "page_at": item.write.page_at,
            "language": change.entry.language,
            "published_at": change.entry.published,
            "content_hash": change.content_hash,
            "material_hash": change.material_hash,
            "first_seen_at": item.at,
            "updated_at": item.at,
            "last_seen_at": item.at,
            "story_id": story,
        }
        for item, story in zip(flat, stories_of, strict=True)
        if (change := item.write.change).kind is ChangeKind.NEW
    ]
    ids: dict[tuple[int, str], int] = {}
    if rows:
        e = entries.c
        stmt = insert(entries).on_conflict_do_nothing().returning(e.feed_id, e.key, e.id)
        result = await conn.execute(stmt, rows)
        ids = {(int(row.feed_id), row.key): int(row.id) for row in result.all()}
    return [
        ids.get((item.feed_id, item.write.change.key))
        if item.write.change.kind is ChangeKind.NEW
        else None
        for item in flat
    ]


async def _candidates(
    conn: AsyncConnection, new: Sequence[EntryWrite], now: datetime, policy: StoryPolicy
) -> StoryCandidates:
    found = StoryCandidates(policy.similarity)
    urls = sorted({url for w in new if (url := _story_link(w))})
    e, b, s = entries.c, story_bands.c, stories.c
    for start in range(0, len(urls), 500):  # a link already told as part of one story only
        by_link = (
            sa.select(e.canonical_url, sa.func.min(e.story_id).label("story"))
            .where(e.canonical_url.in_(urls[start : start + 500]), e.story_id.is_not(None))
            .group_by(e.canonical_url)
            .having(sa.func.count(sa.distinct(e.story_id)) == 1)
        )
        for row in await conn.execute(by_link):
            found.by_url[row.canonical_url] = row.story
    wanted = {(band, key) for w in new if w.sketch for band, key in enumerate(band_keys(w.sketch))}
    keys = sorted({key for _, key in wanted})
    for start in range(0, len(keys), 500):  # by key alone: an index lookup per key
        by_band = (
            sa.select(s.id, s.sketch, b.band, b.key)
            .join(story_bands, b.story_id == s.id)
            .where(
                b.key.in_(keys[start : start + 500]),
                s.first_seen_at >= now - policy.window,
                s.sketch.is_not(None),
            )
        )
        for band in await conn.execute(by_band):
            if (band.band, band.key) in wanted and band.id not in found.sketches:
                found.add(band.id, unpack(band.sketch))
    return found


def _story_link(write: EntryWrite) -> str | None:
    return write.change.canonical_url if write.link_is_identity else None


async def _update_entry(
    conn: AsyncConnection, insert: Insert, write: EntryWrite, story: int, now: datetime
) -> int:
    """Save an edited (or re-keyed) entry; a material edit adds a revision. Returns the
    entry's revision."""
    change = write.change
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
        "feed_content": write.feed_content,
        "page_at": write.page_at,
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
