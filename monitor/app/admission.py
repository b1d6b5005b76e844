"""Admission: which claimed feed is polled when, so that no host and no slow feed holds up the rest.

A claimed feed first waits for a turn at its host (the fetcher's per-host limit), then for one of
the daemon's global slots (``defaults.concurrency``). Waiting for a busy host holds no global
slot, so a slow host's feeds do not hold up the other hosts. Both waits together last at most
``wait`` seconds, which the feed's lease leaves room for: a feed still waiting then is handed
back unpolled (``deferred``), for a later tick.

The daemon's claim loop does not wait for a clock tick to refill: :meth:`wait_for_room` wakes it
as soon as a poll ends and frees its slot (or at the next due time), so that slots stay busy
and throughput is bounded by the machine, not by ``concurrency`` polls a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import structlog

from monitor.base.clock import Clock
from monitor.base.types import FeedForUpdate, PollStatus, UpdateResult

log = structlog.get_logger("newsmon")

HostTurn = Callable[[str], AbstractAsyncContextManager[Any]]
Release = Callable[[FeedForUpdate], Awaitable[None]]
Poll = Callable[[FeedForUpdate], Awaitable[UpdateResult]]

# After a poll ends, how long the claim loop waits for others to end before claiming again.
CLAIM_GATHER = 0.01


class Admission:
    """Feed polls in flight, bounded per host and in all; :meth:`claim_and_spawn` fills it."""

    def __init__(
        self,
        concurrency: int,
        host_turn: HostTurn,
        release: Release,
        clock: Clock | None = None,
        lagged: Callable[[float], None] | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.host_turn = host_turn
        self.release = release
        self.clock = clock
        self.lagged = lagged  # hears how late each poll started after its due time
        self.tasks: set[asyncio.Task[UpdateResult]] = set()
        self.waiting = 0  # feeds waiting for their host's turn or a global slot
        self._slots = asyncio.Semaphore(concurrency)
        self._freed = asyncio.Event()

    @property
    def room(self) -> int:
        """How many more feeds to claim: free slots, plus those whose feeds wait for a host
        (they leave room for other hosts)."""
        return self.concurrency + self.waiting - len(self.tasks)

    async def poll_in_turn(self, feed: FeedForUpdate, wait: float, poll: Poll) -> UpdateResult:
        """``poll(feed)`` once its host has a turn and the daemon a slot, within ``wait``."""
        async with contextlib.AsyncExitStack() as turn:
            self.waiting += 1
            try:
                async with asyncio.timeout(wait):
                    await turn.enter_async_context(self.host_turn(feed.fetch_url))
                    await turn.enter_async_context(self._slots)
            except TimeoutError:
                await self.release(feed)
                await log.adebug("feed.deferred", feed=feed.url, waited=wait)
                return UpdateResult(feed.url, PollStatus.DEFERRED)
            finally:
                self.waiting -= 1
            if self.lagged is not None and self.clock is not None and feed.due_at is not None:
                self.lagged((self.clock() - feed.due_at).total_seconds())
            return await poll(feed)

    async def keep_filled(
        self,
        claim: Callable[[], Awaitable[None]],
        next_due: Callable[[], Awaitable[datetime | None]],
        clock: Clock,
        tick: float,
    ) -> None:
        """The claim loop (until cancelled): ``claim()`` whenever there is room, as soon as a
        poll ends (after a moment for others ending with it, so that claims come in batches),
        at the next due time, and at least every ``tick`` seconds (feeds waiting for a busy
        host leave room too)."""
        while True:
            await claim()
            timeout = tick
            if self.room > 0:
                try:
                    due = await next_due()
                except Exception:
                    await log.aexception("tick.failed")
                    due = None
                if due is not None:
                    timeout = min(max((due - clock()).total_seconds(), CLAIM_GATHER), tick)
            if await self.wait_for_room(timeout):
                await asyncio.sleep(CLAIM_GATHER)

    async def wait_for_room(self, within: float) -> bool:
        """Until a poll ends (True) or ``within`` seconds pass (False)."""
        if self._freed.is_set():
            self._freed.clear()
            return True
        try:
            async with asyncio.timeout(max(within, 0.0)):
                await self._freed.wait()
        except TimeoutError:
            return False
        self._freed.clear()
        return True

    async def claim_and_spawn(
        self,
        claim: Callable[[int], Awaitable[list[FeedForUpdate]]],
        wait: float,
        poll: Poll,
    ) -> int:
        """Claim as many due feeds as there is room for and start polling each in its turn;
        returns how many were claimed (-1: the claim failed)."""
        room = self.room
        if room <= 0:
            return 0
        try:
            feeds = await claim(room)
        except Exception:
            await log.aexception("tick.failed")
            return -1
        for feed in feeds:
            task = asyncio.create_task(self.poll_in_turn(feed, wait, poll))
            self.tasks.add(task)
            task.add_done_callback(self._finished)
        return len(feeds)

    def _finished(self, task: asyncio.Task[UpdateResult]) -> None:
        self.tasks.discard(task)
        self._freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("task.crashed", error=repr(task.exception()))
