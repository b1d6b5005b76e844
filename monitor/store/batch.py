"""Group commit for polls that found nothing to write.

On SQLite with ``synchronous=FULL`` every transaction ends in an fsync, and one transaction per
poll was most of the cost of a cycle where nothing changed. :class:`PollRecorder` commits the
entry-less polls that arrive while a commit is in progress together in the next one: no timer,
no added latency when polls are rare, large batches when they are many. Polls that write entries
keep their own transaction (:meth:`Store.record_update`): their validators are saved with their
entries and outbox rows, as the "no alert lost" guarantee asks.

A caller that is cancelled while waiting still has its poll written: the poll did happen.
"""

from __future__ import annotations

import asyncio
import contextlib

from monitor.base.types import FeedUpdateIntent
from monitor.store.feeds import FeedStore, RecordOutcome


class PollRecorder:
    def __init__(self, store: FeedStore, node: str) -> None:
        self.store = store
        self.node = node
        self.commits = 0
        self._pending: list[tuple[FeedUpdateIntent, asyncio.Future[RecordOutcome]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, intent: FeedUpdateIntent) -> RecordOutcome:
        """Record one poll: alone if it writes entries, else with the polls around it."""
        if intent.entries:
            return await self.store.record_update(intent, self.node)
        future: asyncio.Future[RecordOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append((intent, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                outcomes = await self.store.record_polls([i for i, _ in batch], self.node)
            except Exception as e:  # every waiting poll sees the failure, as if it were alone
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            self.commits += 1
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    async def drain(self) -> None:
        """Wait until every poll handed in so far is committed (before closing the store)."""
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
