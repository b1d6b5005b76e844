"""Group commit: the polls that end while a commit is in progress go together in the next one.

On SQLite every transaction holds the one writer (and, with ``synchronous=FULL``, ends in an
fsync), and a poll that writes entries takes a dozen statements, each a hand-off to the
database's thread: one transaction per poll made the writer the bottleneck of a first sync and
of a busy cycle (measured: the writer was held for 98 % of a first sync). :class:`PollRecorder`
commits the polls that arrive while a commit is in progress together in the next one, their
entries, stories and outbox rows in a few statements for the batch (:meth:`FeedStore.
record_polls`): no timer, no added latency when polls are rare, large batches when they are
many. Each poll's validators are still saved with its entries and outbox rows, in the same
transaction, as the "no alert lost" guarantee asks.

A batch that fails is written again poll by poll, so that one poll that cannot be written fails
alone. A caller that is cancelled while waiting still has its poll written: the poll did happen.
"""

from __future__ import annotations

import asyncio
import contextlib

from monitor.base.types import FeedUpdateIntent
from monitor.store.feeds import FeedStore, RecordOutcome

MAX_BATCH = 64  # polls per transaction: bounds how long one commit holds the writer


class PollRecorder:
    def __init__(self, store: FeedStore, node: str) -> None:
        self.store = store
        self.node = node
        self.commits = 0
        self._pending: list[tuple[FeedUpdateIntent, asyncio.Future[RecordOutcome]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, intent: FeedUpdateIntent) -> RecordOutcome:
        """Record one poll, with the polls that end around it."""
        future: asyncio.Future[RecordOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append((intent, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                outcomes = await self.store.record_polls([i for i, _ in batch], self.node)
            except Exception as e:
                if len(batch) > 1:  # one poll that cannot be written must not fail the others
                    for item in batch:
                        await self._alone(*item)
                elif not batch[0][1].done():
                    batch[0][1].set_exception(e)
                continue
            self.commits += 1
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    async def _alone(self, intent: FeedUpdateIntent, future: asyncio.Future[RecordOutcome]) -> None:
        try:
            outcome = await self.store.record_update(intent, self.node)
        except Exception as e:
            if not future.done():
                future.set_exception(e)
            return
        self.commits += 1
        if not future.done():
            future.set_result(outcome)

    async def drain(self) -> None:
        """Wait until every poll handed in so far is committed (before closing the store)."""
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
