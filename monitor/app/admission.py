"""Admission: which claimed feed is polled when, so that no host and no slow feed holds up the rest.

A claimed feed first waits for a turn at its host (the fetcher's per-host limit), then for one of
the daemon's global slots (``defaults.concurrency``). Waiting for a busy host holds no global
slot, so a slow host's feeds do not hold up the other hosts. Both waits together last at most
``wait`` seconds, which the feed's lease leaves room for: a feed still waiting then is handed
back unpolled (``deferred``), for a later tick.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog

from monitor.base.types import FeedForUpdate, PollStatus, UpdateResult

log = structlog.get_logger("newsmon")

HostTurn = Callable[[str], AbstractAsyncContextManager[Any]]
Release = Callable[[FeedForUpdate], Awaitable[None]]
Poll = Callable[[FeedForUpdate], Awaitable[UpdateResult]]


class Admission:
    """Feed polls in flight, bounded per host and in all; :meth:`claim_and_spawn` fills it."""

    def __init__(self, concurrency: int, host_turn: HostTurn, release: Release) -> None:
        self.concurrency = concurrency
        self.host_turn = host_turn
        self.release = release
        self.tasks: set[asyncio.Task[UpdateResult]] = set()
        self.waiting = 0  # feeds waiting for their host's turn or a global slot
        self._slots = asyncio.Semaphore(concurrency)

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
            return await poll(feed)

    async def claim_and_spawn(
        self,
        claim: Callable[[int], Awaitable[list[FeedForUpdate]]],
        wait: float,
        poll: Poll,
    ) -> None:
        """Claim as many due feeds as there is room for and start polling each in its turn."""
        room = self.room
        if room <= 0:
            return
        try:
            feeds = await claim(room)
        except Exception:
            await log.aexception("tick.failed")
            return
        for feed in feeds:
            task = asyncio.create_task(self.poll_in_turn(feed, wait, poll))
            self.tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[UpdateResult]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task.crashed", error=repr(task.exception()))
