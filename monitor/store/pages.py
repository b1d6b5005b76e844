"""Article pages still owed: claimed under a lease like feeds and alerts, then completed (the
entry's content becomes the page's text, with the matches and outbox rows it led to, in one
transaction) or settled (tried again later, or fallen back for good).

A page owed when its entry was recorded survives any crash: its row was written in the poll's
transaction, and a claim whose node died is claimed again once its lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from monitor.base.types import AlertDraft
from monitor.store.core import StoreCore
from monitor.store.recording import alert_row, write_matches
from monitor.store.retry import retried
from monitor.store.schema import entries, feeds, pages


@dataclass(frozen=True)
class OwedPage:
    """A claimed page, with what its entry needs to be matched again."""

    entry_id: int
    feed_url: str
    url: str
    attempts: int
    key: str
    guid: str | None
    link: str | None
    canonical_url: str | None
    title: str
    summary: str
    content: str
    language: str | None
    published_at: datetime | None
    content_hash: str
    story_id: int | None
    revision: int


@dataclass(frozen=True)
class PageCompletion:
    """What a page read leads to: the entry's new text and language, its matches and alerts."""

    text: str
    language: str | None
    matches: tuple[tuple[str, list[dict[str, Any]]], ...]
    alerts: tuple[AlertDraft, ...]


class PageStore(StoreCore):
    @retried
    async def claim_pages(self, node: str, lease: float, limit: int) -> list[OwedPage]:
        """Lease up to ``limit`` owed pages that are due; each claim counts as an attempt."""
        now = self.now()
        p, e, f = pages.c, entries.c, feeds.c
        due = (
            sa.select(p.entry_id)
            .where(
                p.state == "owed",
                p.next_attempt_at <= now,
                sa.or_(p.lease_until.is_(None), p.lease_until < now),
            )
            .order_by(p.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            pages.update()
            .where(p.entry_id.in_(due.scalar_subquery()))
            .values(
                lease_owner=node,
                lease_until=now + timedelta(seconds=lease),
                attempts=p.attempts + 1,
            )
            .returning(p.entry_id)
        )
        async with self._write() as conn:
            ids = [row.entry_id for row in await conn.execute(claim)]
            if not ids:
                return []
            query = (
                sa.select(
                    p.entry_id,
                    f.url.label("feed_url"),
                    p.url,
                    p.attempts,
                    e.key,
                    e.guid,
                    e.url.label("link"),
                    e.canonical_url,
                    e.title,
                    e.summary,
                    e.content,
                    e.language,
                    e.published_at,
                    e.content_hash,
                    e.story_id,
                    e.revision,
                )
                .join(entries, e.id == p.entry_id)
                .join(feeds, f.id == e.feed_id)
                .where(p.entry_id.in_(ids))
                .order_by(p.entry_id)
            )
            rows = (await conn.execute(query)).all()
        return [OwedPage(**row._asdict()) for row in rows]

    @retried
    async def settle_page(
        self,
        entry_id: int,
        node: str,
        *,
        kind: str,
        reason: str | None,
        retry_at: datetime | None,
    ) -> bool:
        """A page read that failed: owed again at ``retry_at``, or (None) fallen back for good.
        False when the lease was lost (another node settles it)."""
        now = self.now()
        values: dict[str, Any] = {"kind": kind, "reason": reason, "lease_owner": None}
        if retry_at is None:
            values.update(state="fallback", settled_at=now, next_attempt_at=None)
        else:
            values.update(next_attempt_at=retry_at, lease_until=None)
        async with self._write() as conn:
            result = await conn.execute(
                pages.update()
                .where(pages.c.entry_id == entry_id, pages.c.lease_owner == node)
                .values(**values)
            )
        return bool(result.rowcount)

    @retried
    async def complete_page(
        self, page: OwedPage, node: str, completion: PageCompletion
    ) -> int | None:
        """Save a page's text on its entry (not an edit: no revision, the hashes stay the
        feed's), with its matches and alerts; returns the outbox rows created (None: the lease
        was lost, nothing written)."""
        now = self.now()
        async with self._write() as conn:
            settled = await conn.execute(
                pages.update()
                .where(pages.c.entry_id == page.entry_id, pages.c.lease_owner == node)
                .values(state="done", kind="done", reason=None, lease_owner=None, settled_at=now)
            )
            if not settled.rowcount:
                return None
            await conn.execute(
                entries.update()
                .where(entries.c.id == page.entry_id, entries.c.page_at.is_(None))
                .values(
                    content=completion.text,
                    feed_content=page.content,
                    page_at=now,
                    language=completion.language,
                )
            )
            match_rows = [
                {"entry_id": page.entry_id, "rule_id": rule, "revision": page.revision, "hits": h}
                for rule, h in completion.matches
            ]
            alert_rows = [
                alert_row(draft, page.entry_id, page.story_id, page.revision)
                for draft in completion.alerts
            ]
            return await write_matches(conn, self._insert, match_rows, alert_rows, now)

    async def page_counts(self, urls: Sequence[str]) -> dict[str, dict[str, int]]:
        """Per feed URL: its pages by state (owed, done, fallback), and its fallbacks by kind
        (``fallback:<kind>``)."""
        p, f = pages.c, feeds.c
        found: dict[str, dict[str, int]] = {}
        rows: list[Any] = []
        async with self._read() as conn:
            for start in range(0, len(urls), 500):
                query = (
                    sa.select(f.url, p.state, p.kind, sa.func.count())
                    .join(feeds, f.id == p.feed_id)
                    .where(f.url.in_(urls[start : start + 500]))
                    .group_by(f.url, p.state, p.kind)
                )
                rows += (await conn.execute(query)).all()
        for url, state, kind, n in rows:
            counts = found.setdefault(url, {})
            counts[state] = counts.get(state, 0) + n
            if state == "fallback":
                counts[f"fallback:{kind}"] = n
        return found
