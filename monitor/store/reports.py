"""What the commands show: feeds, alerts and sinks with their state, and counts for metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.base.types import MALFORMED, AlertState, FeedState, feed_state
from monitor.store.core import StoreCore
from monitor.store.schema import alerts, entries, feeds, sinks


@dataclass(frozen=True)
class StateTally:
    """Configured feeds by state, and undelivered alerts by ``(sink, state)``."""

    feeds: Mapping[FeedState, int]
    outbox: Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class StoredArticle:
    """An entry as stored, with its feed: what ``test-rules --stored`` matches rules against."""

    id: int
    feed_url: str
    feed_name: str | None
    title: str
    summary: str
    content: str
    url: str | None
    language: str | None
    published_at: datetime | None
    first_seen_at: datetime


def with_state(row: Any) -> dict[str, Any]:
    """A feeds row as a dict, with its :class:`FeedState`."""
    found = dict(row._mapping)
    found["state"] = feed_state(
        active=found["active"],
        disabled=found["disabled_at"] is not None,
        failing=found["failing_since"] is not None,
        last_status=found["last_status"],
        last_error_kind=found["last_error_kind"],
    )
    return found


class ReportStore(StoreCore):
    """Read-only views for ``newsmon feeds``, ``alerts``, ``sinks`` and the metrics."""

    async def list_feeds(self, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """The feeds the store knows (``limit`` of them from ``offset``, else every one),
        configured first, each with its :class:`FeedState` and how many entries it has."""
        f, e = feeds.c, entries.c
        count = sa.select(sa.func.count()).where(e.feed_id == f.id).scalar_subquery()
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
                count.label("entries"),
            )
            .order_by(f.active.desc(), f.url)
            .limit(limit)
            .offset(offset)
        )
        async with self._read() as conn:
            return [with_state(row) for row in (await conn.execute(query)).all()]

    async def feed_states(self) -> dict[FeedState, int]:
        """How many feeds are in each state, all of them (the tally under a page of feeds)."""
        f = feeds.c
        columns = (f.active, f.disabled_at.is_not(None), f.failing_since.is_not(None))
        query = sa.select(*columns, f.last_status, f.last_error_kind, sa.func.count()).group_by(
            *columns, f.last_status, f.last_error_kind
        )
        tally: dict[FeedState, int] = {}
        async with self._read() as conn:
            for active, disabled, failing, status, kind, n in await conn.execute(query):
                state = feed_state(
                    active=bool(active),
                    disabled=bool(disabled),
                    failing=bool(failing),
                    last_status=status,
                    last_error_kind=kind,
                )
                tally[state] = tally.get(state, 0) + n
        return tally

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
                a.discarded_at,
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

    async def count_stored_articles(self, since: datetime) -> int:
        """How many entries first seen at or after ``since`` still have their text."""
        e = entries.c
        query = sa.select(sa.func.count()).where(e.first_seen_at >= since, e.pruned_at.is_(None))
        async with self._read() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def stored_articles(
        self, since: datetime, batch: int = 500
    ) -> AsyncIterator[list[StoredArticle]]:
        """The entries first seen at or after ``since`` that still have their text, oldest
        first, ``batch`` at a time (each batch its own short read: memory stays flat and no
        read holds the database while the caller matches)."""
        e, f = entries.c, feeds.c
        after = 0
        while True:
            query = (
                sa.select(
                    e.id,
                    f.url.label("feed_url"),
                    sa.func.coalesce(f.name, f.title).label("feed_name"),
                    e.title,
                    e.summary,
                    e.content,
                    e.url,
                    e.language,
                    e.published_at,
                    e.first_seen_at,
                )
                .join(feeds, f.id == e.feed_id)
                .where(e.first_seen_at >= since, e.pruned_at.is_(None), e.id > after)
                .order_by(e.id)
                .limit(batch)
            )
            async with self._read() as conn:
                rows = (await conn.execute(query)).all()
            if not rows:
                return
            yield [StoredArticle(**row._mapping) for row in rows]
            after = rows[-1].id

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
        """Active feeds by state (:class:`FeedState`) and pending or dead alerts by sink: two
        grouped counts, cheap enough to run on every metrics scrape."""
        f, a = feeds.c, alerts.c
        flags = (
            f.disabled_at.is_not(None),
            f.failing_since.is_not(None),
            f.last_status,
            f.last_error_kind == MALFORMED,
        )
        by_feed = sa.select(*flags, sa.func.count()).where(f.active).group_by(*flags)
        by_sink = (
            sa.select(a.sink, a.state, sa.func.count())
            .where(a.state.in_((AlertState.PENDING, AlertState.DEAD)))
            .group_by(a.sink, a.state)
        )
        async with self._read() as conn:
            feed_rows = (await conn.execute(by_feed)).all()
            sink_rows = (await conn.execute(by_sink)).all()
        states: dict[FeedState, int] = {}
        for disabled, failing, status, malformed, n in feed_rows:
            state = feed_state(
                active=True,
                disabled=disabled,
                failing=failing,
                last_status=status,
                last_error_kind=MALFORMED if malformed else None,
            )
            states[state] = states.get(state, 0) + n
        return StateTally(states, {(sink, state): n for sink, state, n in sink_rows})
