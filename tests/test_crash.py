"""kill -9, a dozen times: a real daemon delivering 600 alerts loses none, and every duplicate
carries an id the receiver already had (at least once, deduplicable by id).

The daemon (``python -m monitor run``, SQLite state) polls four loopback feeds of 150 matching
items each and delivers to a loopback receiver that verifies every signature. The test SIGKILLs
it and starts it again, each kill aimed at one phase in turn: one in four during start-up
(imports, migrations, lock, sync: before the daemon says it started), one in four soon after it
started (polling, recording), and half while it delivers: at a random point after the receiver
got this run's first deliveries, found by watching the receiver's count, so the kill lands with
requests in flight, answered but not yet marked, and marked. Then
a last run finishes and stops with SIGTERM. The test asserts that many kills landed mid-delivery.

For a longer soak: ``NEWSMON_CRASH_KILLS=200 NEWSMON_CRASH_ITEMS=1000 pytest -s
tests/test_crash.py`` (``NEWSMON_CRASH_SEED``, printed by every run, replays its kill points).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.configs import rule, webhook
from tests.conftest import FeedServer, Receiver
from tests.nodes import kill_node, start_node

SECRET = "whsec_Y3Jhc2gtdGVzdC1zZWNyZXQtZm9yLW5ld3Ntb24="
FEEDS = 4
ITEMS = int(os.environ.get("NEWSMON_CRASH_ITEMS", 150))  # per feed
KILLS = int(os.environ.get("NEWSMON_CRASH_KILLS", 12))


def feed_body(feed: int) -> bytes:
    items = "".join(
        f"<item><title>Belarus berita {feed}-{n}</title>"
        f"<link>https://news{feed}.example/{n}</link><guid>news{feed}-{n}</guid>"
        f"<description>Minsk dan Belarus, kabar nomor {n}.</description></item>"
        for n in range(ITEMS)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"{items}</channel></rss>"
    ).encode()


def received(receiver: Receiver) -> int:
    """Distinct alerts received (one id per story: asserted at the end)."""
    return len({d.id for d in receiver.deliveries})


async def wait_for_deliveries(receiver: Receiver, count: int, expected: int) -> None:
    """Until the receiver got ``count`` requests in all, or every alert."""
    while len(receiver.deliveries) < count and received(receiver) < expected:
        await asyncio.sleep(0.005)


@pytest.mark.slow
@pytest.mark.bound(150 + 3 * KILLS)
async def test_sigkill_at_random_moments_loses_no_alert_and_duplicates_share_ids(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver
) -> None:
    receiver.secrets = (SECRET,)
    receiver.delay = 0.03  # each answer takes 30 ms: a kill finds requests in flight
    urls = [feeds.set(f"f{i}.xml", feed_body(i)) for i in range(FEEDS)]
    state = tmp_path / "crash.db"
    config = write_config(
        state=state,
        defaults={"interval": "2s", "backfill": "all"},
        feeds=urls,
        rules=[rule("belarus", "Belarus")],
        sinks={"hook": webhook(receiver.url, SECRET, concurrency=4)},
    )
    expected = FEEDS * ITEMS
    seed = os.environ.get("NEWSMON_CRASH_SEED") or str(random.randrange(10**9))
    rng = random.Random(seed)
    delivery_kills = [i for i in range(KILLS) if i % 4 >= 2]
    began = time.monotonic()
    moments: Counter[str] = Counter()
    async with asyncio.timeout(150 + 3 * KILLS):
        for i in range(KILLS):
            run = await start_node(config)
            before = len(receiver.deliveries)
            if i % 4 == 0:  # during start-up: imports, migrations, lock, sync
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(rng.uniform(0.05, 0.8)):
                        await run.started.wait()
            elif i % 4 == 1:  # soon after start: polling and recording, perhaps delivering
                async with asyncio.timeout(30):
                    await run.started.wait()
                await asyncio.sleep(rng.uniform(0.02, 0.5))
            else:  # while delivering: some way into this run's deliveries
                left = len(delivery_kills) - delivery_kills.index(i)
                remaining = expected - received(receiver)
                more = rng.randint(1, max(1, 3 * remaining // (2 * left + 2)))
                async with asyncio.timeout(30):
                    await wait_for_deliveries(receiver, before + more, expected)
                await asyncio.sleep(rng.uniform(0, receiver.delay))
            got = received(receiver)
            await kill_node(run)
            if not run.started.is_set():
                moments["start-up"] += 1
            elif got == expected:
                moments["idle"] += 1
            elif len(receiver.deliveries) > before and got > 0:
                moments["mid-delivery"] += 1
            else:
                moments["polling"] += 1

        run = await start_node(config)
        before_last_run = received(receiver)
        await run.started.wait()  # SIGTERM is handled once the daemon runs
        await wait_for_deliveries(receiver, 10**9, expected)
        # Everything arrived; let the last marks land, then stop gracefully.
        while (
            sqlite3.connect(state)
            .execute("SELECT count(*) FROM alerts WHERE state != 'delivered'")
            .fetchone()[0]
        ):
            await asyncio.sleep(0.1)
        run.proc.send_signal(signal.SIGTERM)
        assert await run.proc.wait() == 0
        assert run.reader is not None
        await run.reader
    elapsed = time.monotonic() - began

    ids = receiver.ids()
    duplicates = len(ids) - len(set(ids))
    print(
        f"\ncrash test: {KILLS} SIGKILLs ({dict(moments)}), {expected} alerts, "
        f"{len(ids)} deliveries, {duplicates} duplicates, {before_last_run} received before "
        f"the last run, {elapsed:.1f}s, NEWSMON_CRASH_SEED={seed}"
    )
    # Many kills landed while deliveries were in flight (some, but not all, received).
    assert moments["mid-delivery"] >= max(3, KILLS // 4), moments
    # Every alert was received; a story received again came with the id it came with first,
    # and a repeated id with the very body it came with first.
    first_id: dict[str, str] = {}
    first_body: dict[str, bytes] = {}
    for delivery in receiver.deliveries:
        url = delivery.json["data"]["article"]["url"]
        assert first_id.setdefault(url, delivery.id) == delivery.id, f"{url} under a new id"
        assert first_body.setdefault(delivery.id, delivery.body) == delivery.body
    assert len(first_id) == expected
    assert len(set(ids)) == expected
    db = sqlite3.connect(state)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT state, count(*) FROM alerts GROUP BY state").fetchall() == [
            ("delivered", expected)
        ]
        assert set(ids) == {row[0] for row in db.execute("SELECT id FROM alerts")}
    finally:
        db.close()
