"""What the dashboard reads: pages of feeds and alerts, one feed or alert in full, and the
series its charts draw. Every query is bounded (a page, a window, an index lookup)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.base.types import MALFORMED, AlertState, FeedState, PollStatus
from monitor.store.counts import CountKind
from monitor.store.reports import ReportStore, with_state
from monitor.store.schema import (
    alerts,
    delivery_attempts,
    entries,
    feeds,
    hourly_counts,
    matches,
    poll_history,
)

FAILED = [s.value for s in PollStatus if s.failed]
f, e, a, m = feeds.c, entries.c, alerts.c, matches.c

STATE_WHERE: dict[str, Any] = {
    FeedState.REMOVED: f.active.is_(False),
    FeedState.DISABLED: sa.and_(f.active.is_(True), f.disabled_at.is_not(None)),
    FeedState.FAILING: sa.and_(
        f.active.is_(True), f.disabled_at.is_(None), f.failing_since.is_not(None)
    ),
    FeedState.NEVER_POLLED: sa.and_(f.active.is_(True), f.last_status.is_(None)),
    FeedState.ERROR: sa.and_(
        f.active.is_(True),
        f.disabled_at.is_(None),
        f.failing_since.is_(None),
        f.last_status.in_(FAILED),
    ),
    FeedState.WARNING: sa.and_(
        f.active.is_(True),
        f.disabled_at.is_(None),
        f.failing_since.is_(None),
        f.last_status.not_in(FAILED),
        f.last_error_kind == MALFORMED,
    ),
}
SORTS: dict[str, Any] = {
    "url": f.url,
    "name": f.name,
    "last_poll": f.last_attempt_at.desc(),
    "failures": f.consecutive_failures.desc(),
    "next_poll": f.next_poll_at,
}
FEED_COLUMNS = (
    f.id,
    f.url,
    f.name,
    f.title,
    f.active,
    f.last_status,
    f.last_error,
    f.last_error_kind,
    f.last_attempt_at,
    f.last_success_at,
    f.next_poll_at,
    f.consecutive_failures,
    f.failing_since,
    f.disabled_at,
    f.disabled_reason,
)


@dataclass(frozen=True)
class FeedQuery:
    """A page of the feeds table: filters, sort, and where the page starts."""

    state: str | None = None
    host: str | None = None
    tag: str | None = None
    failing: bool = False
    sort: str = "url"
    offset: int = 0
    limit: int = 50


def _feed_filters(q: FeedQuery) -> list[Any]:
    where: list[Any] = []
    if q.state in STATE_WHERE:
        where.append(STATE_WHERE[q.state])
    if q.host:  # two ranges of the url index: http://host/... and https://host/...
        host = q.host.lower().strip("/")
        where.append(
            sa.or_(
                *(
                    sa.and_(f.url >= f"{scheme}://{host}/", f.url < f"{scheme}://{host}0")
                    for scheme in ("http", "https")
                )
            )
        )
    if q.tag:
        where.append(f.tags.contains(f",{q.tag},", autoescape=True))
    if q.failing:
        where.append(f.consecutive_failures > 0)
    return where


class DashboardStore(ReportStore):
    async def feeds_page(self, q: FeedQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of feeds and how many match the filters."""
        where = _feed_filters(q)
        order = [SORTS.get(q.sort, f.url), f.id]
        page = sa.select(*FEED_COLUMNS).where(*where).order_by(*order)
        page = page.offset(max(0, q.offset)).limit(q.limit)
        count = sa.select(sa.func.count()).select_from(feeds).where(*where)
        async with self._read() as conn:
            rows = (await conn.execute(page)).all()
            total = int((await conn.execute(count)).scalar_one())
        return [with_state(row) for row in rows], total

    async def feed_detail(self, feed_id: int, shown: int = 20) -> dict[str, Any] | None:
        """A feed's row with where it is fetched from and its rhythm, its ring of last polls
        (newest first) and its latest entries."""
        query = sa.select(
            *FEED_COLUMNS,
            f.effective_url,
            f.effective_url_source,
            f.redirect_url,
            f.entry_interval,
            f.publisher_interval,
            f.identity,
            f.polls,
        ).where(f.id == feed_id)
        p = poll_history.c
        polls = sa.select(poll_history).where(p.feed_id == feed_id).order_by(p.poll.desc())
        latest = (
            sa.select(e.id, e.title, e.url, e.published_at, e.first_seen_at, e.revision)
            .where(e.feed_id == feed_id, e.pruned_at.is_(None))
            .order_by(e.first_seen_at.desc(), e.id.desc())
            .limit(shown)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            found = with_state(row)
            found["polls_kept"] = [dict(r._mapping) for r in await conn.execute(polls)]
            found["entries"] = [dict(r._mapping) for r in await conn.execute(latest)]
        return found

    async def alerts_page(
        self, states: Sequence[str], offset: int = 0, limit: int = 50
    ) -> list[dict[str, Any]]:
        query = (
            sa.select(a.id, a.sink, a.rule_id, a.kind, a.state, a.attempts, a.last_error)
            .add_columns(a.created_at, a.delivered_at, a.story_id, e.title, e.url)
            .outerjoin(entries, e.id == a.entry_id)
            .where(*([a.state.in_(list(states))] if states else []))
            .order_by(a.created_at.desc(), a.id)
            .offset(max(0, offset))
            .limit(limit)
        )
        async with self._read() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]

    async def alert_detail(self, alert_id: str) -> dict[str, Any] | None:
        """An alert with its article, its rule's hits in it, each delivery attempt, and the
        other feeds that told its story."""
        query = (
            sa.select(alerts, e.title, e.summary, e.content, e.url.label("article_url"))
            .add_columns(e.feed_id, sa.func.coalesce(f.name, f.title, f.url).label("feed"))
            .outerjoin(entries, e.id == a.entry_id)
            .outerjoin(feeds, f.id == e.feed_id)
            .where(a.id == alert_id)
        )
        d = delivery_attempts.c
        tried = sa.select(delivery_attempts).where(d.alert_id == alert_id).order_by(d.id)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            found = dict(row._mapping)
            found["attempts_kept"] = [dict(r._mapping) for r in await conn.execute(tried)]
            hits = sa.select(m.hits).where(
                m.entry_id == found["entry_id"],
                m.rule_id == found["rule_id"],
                m.revision == found["revision"],
            )
            found["hits"] = (await conn.execute(hits)).scalar() or []
            reports = await self._reports(conn, {found["story_id"]} if found["story_id"] else set())
        found["also_reported_by"] = [
            r for r in reports.get(found["story_id"], []) if r["entry_id"] != found["entry_id"]
        ]
        return found

    async def hourly(self, kind: CountKind, since: datetime) -> dict[datetime, int]:
        """Counts of ``kind`` per hour since ``since`` (all sinks and outcomes together)."""
        h = hourly_counts.c
        query = (
            sa.select(h.hour, sa.func.sum(h.n))
            .where(h.kind == kind.value, h.hour >= since)
            .group_by(h.hour)
        )
        async with self._read() as conn:
            return {row[0]: int(row[1]) for row in await conn.execute(query)}

    async def rule_hits(self, since: datetime) -> dict[str, dict[str, int]]:
        """Matches per rule per day (``YYYY-MM-DD``) since ``since``."""
        if self.dialect == "postgresql":
            day: Any = sa.func.to_char(m.created_at, "YYYY-MM-DD")
        else:
            day = sa.func.substr(m.created_at, 1, 10)
        query = (
            sa.select(m.rule_id, day.label("day"), sa.func.count())
            .where(m.created_at >= since)
            .group_by(m.rule_id, day)
        )
        found: dict[str, dict[str, int]] = {}
        async with self._read() as conn:
            for rule_id, when, n in await conn.execute(query):
                found.setdefault(rule_id, {})[str(when)] = int(n)
        return found

    async def rule_matches(self, rule_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """A rule's latest matches, with their articles and hits."""
        query = (
            sa.select(m.hits, m.created_at, e.id, e.title, e.summary, e.content, e.url)
            .join(entries, e.id == m.entry_id)
            .where(m.rule_id == rule_id)
            .order_by(m.created_at.desc(), m.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]

    async def dead_alert_ids(self, alert_id: str) -> bool:
        query = sa.select(a.id).where(a.id == alert_id, a.state == AlertState.DEAD)
        async with self._read() as conn:
            return (await conn.execute(query)).first() is not None
