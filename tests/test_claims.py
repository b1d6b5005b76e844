"""The claim loop keeps its slots busy: a slot that frees is refilled at once, not at the next
tick, so throughput is not capped at ``concurrency`` polls per tick."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from monitor.app.daemon import Daemon
from monitor.config import load_config
from monitor.store.schema import feeds
from tests.conftest import FakeClock
from tests.evil_server import EvilServer

FEEDS = 40
CONCURRENCY = 2
TICK = 30.0  # far longer than the test: a claim that waited for the tick would never come


async def test_slots_are_refilled_as_polls_end_not_once_per_tick(
    write_config: Any, evil: EvilServer, clock: FakeClock
) -> None:
    """40 feeds due, concurrency 2, each answer 50 ms late. The tick is 30 s, so claiming only
    on the tick would poll 2 feeds before the 25 s bound below; refilling slots as polls end
    polls all 40 (about 1 s of work), never more than 2 at once."""
    urls = [evil.url(f"slow?s=0.05&n={i}") for i in range(FEEDS)]
    defaults = {"interval": "1h", "concurrency": CONCURRENCY, "per_host": CONCURRENCY}
    config = load_config(write_config(defaults=defaults, feeds=urls))
    stop = asyncio.Event()
    async with Daemon(config, clock=clock, parse_pool=None, tick=TICK) as daemon:
        clock.advance(60)  # every feed is due
        running = asyncio.create_task(daemon.run(stop))
        try:
            async with asyncio.timeout(25):
                while len(evil.hits("slow")) < FEEDS:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pass
        polled = len(evil.hits("slow"))
        stop.set()
        await running
        lags = daemon.metrics.registry.get_sample_value("newsmon_poll_lag_seconds_count")
        late = daemon.metrics.registry.get_sample_value(
            "newsmon_poll_lag_seconds_bucket", {"le": "30.0"}
        )
    assert polled == FEEDS, f"{polled} of {FEEDS} feeds polled within one tick"
    assert evil.max_in_flight == CONCURRENCY
    assert lags == FEEDS  # each poll's lag is measured: all were due a minute before
    assert late == 0


async def test_a_feed_coming_due_is_claimed_without_waiting_for_the_tick(
    write_config: Any, evil: EvilServer
) -> None:
    """A feed due 1 s after start (real clock, tick 30 s) is polled at its due time: the loop
    sleeps until the next due time, not a whole tick."""
    url = evil.url("slow?s=0&n=late")
    config = load_config(write_config(defaults={"interval": "1h"}, feeds=[url]))
    stop = asyncio.Event()
    async with Daemon(config, parse_pool=None, tick=TICK) as daemon:
        await daemon.run_once()  # polled once: next due in about an hour
        assert len(evil.hits("slow")) == 1
        await _set_next_poll(daemon, daemon.store.now().timestamp() + 1)
        running = asyncio.create_task(daemon.run(stop))
        try:
            async with asyncio.timeout(20):
                while len(evil.hits("slow")) < 2:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pass
        polled = len(evil.hits("slow"))
        stop.set()
        await running
    assert polled == 2


async def _set_next_poll(daemon: Daemon, timestamp: float) -> None:
    async with daemon.store._write() as conn:
        await conn.execute(
            sa.update(feeds).values(next_poll_at=datetime.fromtimestamp(timestamp, UTC))
        )
