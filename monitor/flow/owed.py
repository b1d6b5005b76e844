"""The page reader: completes the article pages still owed (those that did not come within a
poll's wait, or whose node died before reading them), then matches the entry again.

Completing an entry with its page is not an edit: no revision, no ``article.updated``; the
entry keeps its story. A rule that matches only now, and has not alerted on the story yet,
alerts as new (``article.matched``); a rule that already alerted stays silent; an ``exclude:``
that matches only in the page stops a rule that had not alerted yet. A page that fails for good
(refused, robots.txt, too large, no article, a 4xx) falls back at once; one that may come
back (a timeout, a 5xx, a refused connection) is tried again, at most ``MAX_ATTEMPTS`` times
(:func:`monitor.flow.pages.for_good`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from monitor.base.settings import FeedPolicy
from monitor.base.types import ChangeKind, EntryChange, ParsedEntry
from monitor.config import LoadedConfig
from monitor.flow.pages import RETRY_AFTER, PageOutcome, PageReader, for_good
from monitor.stages.articles import resolve_language, with_language
from monitor.store.pages import OwedPage, PageCompletion

log = structlog.get_logger("newsmon.page")

PAGE_LEASE = 300.0


class PageStoreSlice(Protocol):
    now: Callable[[], datetime]

    async def claim_pages(self, node: str, lease: float, limit: int) -> list[OwedPage]: ...

    async def settle_page(
        self, entry_id: int, node: str, *, kind: str, reason: str | None, retry_at: datetime | None
    ) -> bool: ...

    async def complete_page(
        self, page: OwedPage, node: str, completion: PageCompletion
    ) -> int | None: ...

    async def story_rules(self, story_ids: Iterable[int]) -> dict[int, set[str]]: ...


@dataclass
class PageCompleter:
    store: PageStoreSlice
    reader: PageReader
    node: str
    config: Callable[[], LoadedConfig]
    on_alerts: Callable[[int], None] | None = None
    concurrency: int = 4
    _task: asyncio.Task[int] | None = field(default=None, repr=False)

    def pump(self) -> None:
        """Start completing what is due, unless that is under way."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.drain())

    @property
    def tasks(self) -> set[asyncio.Task[int]]:
        return {self._task} if self._task is not None and not self._task.done() else set()

    async def drain(self) -> int:
        """Complete owed pages until none is due; returns how many were claimed."""
        total = 0
        while True:
            owed = await self.store.claim_pages(self.node, PAGE_LEASE, self.concurrency)
            if not owed:
                return total
            total += len(owed)
            await asyncio.gather(*(self._one(page) for page in owed))

    async def _one(self, page: OwedPage) -> None:
        try:
            await self._complete(page)
        except Exception as e:  # a bug: logged, and the page is tried again after its lease
            await log.aerror("page.crashed", url=page.url, exc_info=e)

    async def _complete(self, page: OwedPage) -> None:
        config = self.config()
        policy = config.policies.get(page.feed_url)
        if policy is None:
            reason = "the feed is no longer configured"
            await self.store.settle_page(
                page.entry_id, self.node, kind="gone", reason=reason, retry_at=None
            )
            return
        text = page.content if len(page.content) >= len(page.summary) else page.summary
        outcome = await self.reader.read(page.url, policy, text)
        if outcome.text is None:
            await self._failed(page, outcome)
            return
        completion = await self._rematch(page, policy, config, outcome.text)
        created = await self.store.complete_page(page, self.node, completion)
        await log.ainfo("page.completed", url=page.url, alerts=created or 0)
        if created and self.on_alerts is not None:
            self.on_alerts(created)

    async def _failed(self, page: OwedPage, outcome: PageOutcome) -> None:
        retry_at = None
        if not for_good(outcome, page.attempts):
            retry_at = self.store.now() + timedelta(seconds=RETRY_AFTER * 2 ** (page.attempts - 1))
        await self.store.settle_page(
            page.entry_id, self.node, kind=outcome.kind, reason=outcome.reason, retry_at=retry_at
        )
        event = "page.retry" if retry_at else "page.fell_back"
        await log.awarning(event, url=page.url, kind=outcome.kind, reason=outcome.reason)

    async def _rematch(
        self, page: OwedPage, policy: FeedPolicy, config: LoadedConfig, text: str
    ) -> PageCompletion:
        entry = ParsedEntry(page.guid, page.link, page.title, page.summary, text, page.published_at)
        entry = with_language(
            entry, resolve_language(entry, policy.language, policy.default_language)
        )
        change = EntryChange(
            ChangeKind.NEW,
            page.key,
            entry,
            page.canonical_url,
            page.content_hash,
            alert=True,
            revision=page.revision,
        )
        write = config.matcher.plan(change, policy, {}, self.store.now())
        story = page.story_id
        alerted = (await self.store.story_rules([story])).get(story, set()) if story else set()
        matches = tuple(m for m in write.matches if m[0] not in alerted)
        alerts = tuple(a for a in write.alerts if a.rule_id not in alerted)
        return PageCompletion(text, entry.language, matches, alerts)
