"""The write cost of the dashboard's history: the poll ring and the delivery attempts.

Side by side in one run, rounds alternating: recording batches of polls (the common case, a
304 batch in one transaction) with the ring upsert and without it; settling alerts one
transaction each (as the dispatcher does) with the attempt row and without it. Prints the
median microseconds per poll and per attempt, and the ratio.

    python bench/history.py [--feeds 2000] [--batch 200] [--alerts 1000] [--rounds 5]
                            [--state sqlite:///...|postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from monitor.base.clock import utcnow
from monitor.base.types import AlertState, FeedUpdateIntent, PollStatus
from monitor.store import FeedSchedule, Store
from monitor.store import feeds as feeds_mod
from monitor.store import outbox as outbox_mod
from monitor.store.schema import alerts

NODE = "bench"


async def _nothing(*args: Any) -> None:
    return None


@contextmanager
def without(module: Any, name: str, on: bool) -> Iterator[None]:
    """Run with ``module.name`` as it is (``on``) or replaced by a no-op."""
    saved = getattr(module, name)
    if not on:
        setattr(module, name, _nothing)
    try:
        yield
    finally:
        setattr(module, name, saved)


async def polls_round(store: Store, ids: list[int], batch: int, on: bool) -> float:
    """Seconds per poll recorded, for every feed once, ``batch`` polls a transaction."""
    await store.claim_due_feeds(NODE, 600, len(ids), due_before=utcnow() + timedelta(days=9999))
    now = utcnow()
    intents = [
        FeedUpdateIntent(i, now, now + timedelta(seconds=60), PollStatus.NOT_MODIFIED) for i in ids
    ]
    with without(feeds_mod, "keep_polls", on):
        started = time.perf_counter()
        for start in range(0, len(intents), batch):
            await store.record_polls(intents[start : start + batch], NODE)
        return (time.perf_counter() - started) / len(intents)


async def attempts_round(store: Store, n: int, on: bool, round_no: int) -> float:
    """Seconds per settled attempt: ``n`` alerts claimed, then each marked delivered."""
    now = utcnow()
    async with store.engine.begin() as conn:
        await conn.execute(
            alerts.insert(),
            [
                {
                    "id": f"msg_{round_no}_{on}_{i}",
                    "sink": "hook",
                    "rule_id": "r",
                    "kind": "article.matched",
                    "payload": {},
                    "state": AlertState.PENDING,
                    "next_attempt_at": now,
                    "created_at": now,
                    "story_id": round_no * 10_000_000 + int(on) * 1_000_000 + i,
                }
                for i in range(n)
            ],
        )
    claimed = await store.claim_alerts(NODE, 600, n, sink="hook")
    with without(outbox_mod, "keep_attempts", on):
        started = time.perf_counter()
        for alert in claimed:
            await store.mark_delivered(alert.id)
        return (time.perf_counter() - started) / len(claimed)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = args.state or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = await Store.open(state, utcnow)
        try:
            await store.sync_feeds(
                [FeedSchedule(f"http://127.0.0.2/{i}.xml", None, 60) for i in range(args.feeds)],
                rate=1e9,
            )
            async with store.engine.connect() as conn:
                ids = list((await conn.execute(sa.text("SELECT id FROM feeds"))).scalars())
            polls: dict[bool, list[float]] = {True: [], False: []}
            sent: dict[bool, list[float]] = {True: [], False: []}
            for round_no in range(args.rounds):
                for on in (round_no % 2 == 0, round_no % 2 == 1):
                    polls[on].append(await polls_round(store, ids, args.batch, on))
                    sent[on].append(await attempts_round(store, args.alerts, on, round_no))
        finally:
            await store.close()
    report(f"poll (batch of {args.batch})", polls)
    report("delivery attempt", sent)


def report(what: str, times: dict[bool, list[float]]) -> None:
    with_, without_ = (statistics.median(times[k]) * 1e6 for k in (True, False))
    print(
        f"{what:<22} without history {without_:8.1f} µs  with {with_:8.1f} µs  "
        f"(+{with_ - without_:.1f} µs, x{with_ / without_:.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--state")
    asyncio.run(main(parser.parse_args()))
