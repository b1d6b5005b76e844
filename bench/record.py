"""Benchmark: CPU per poll the store records, for polls that found nothing new (304s), and per
claim.

A fresh SQLite store of ``--feeds`` feeds; each round claims them all, ``--claim`` at a time
as the claim loop does, and records a 304 for each through :meth:`Store.record_polls`, in
batches of ``--batch`` (the group commit's); it reports the process's CPU per claim and per
poll recorded. No parse workers are involved, so another checkout can be measured by putting
it first on ``PYTHONPATH``:

    python bench/record.py
    PYTHONPATH=/path/to/other/checkout python bench/record.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from monitor.base.types import FeedUpdateIntent, PollStatus
from monitor.store import FeedSchedule, Store


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def measure(feeds: int, batch: int, size: int, rounds: int) -> list[tuple[float, float]]:
    """(CPU µs per claim, CPU µs per poll recorded) of each round."""
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite:///{tmp}/state.db", clock)
        urls = [f"http://h{i % 100}.example/{i}" for i in range(feeds)]
        await store.sync_feeds([FeedSchedule(url, None, 600) for url in urls])
        figures = []
        for _ in range(rounds):
            clock.now += timedelta(hours=1)
            started, claimed, claims = time.process_time(), [], 0
            while claim := await store.claim_due_feeds("bench", 600, size):
                claimed += claim
                claims += 1
            per_claim = (time.process_time() - started) / claims * 1e6
            started = time.process_time()
            for start in range(0, len(claimed), batch):
                intents = [
                    FeedUpdateIntent(
                        f.id, clock.now, clock.now + timedelta(minutes=10), PollStatus.NOT_MODIFIED
                    )
                    for f in claimed[start : start + batch]
                ]
                await store.record_polls(intents, "bench")
            figures.append((per_claim, (time.process_time() - started) / len(claimed) * 1e6))
        await store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50, help="polls per record_polls")
    parser.add_argument("--claim", type=int, default=16, help="feeds per claim")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    runs = asyncio.run(measure(args.feeds, args.batch, args.claim, args.rounds))
    for i, name in enumerate((f"claim of {args.claim}", "304 recorded")):
        values = [run[i] for run in runs]
        print(
            f"CPU per {name}: median {statistics.median(values):.0f} µs over {args.rounds} "
            f"rounds of {args.feeds} feeds ({', '.join(f'{v:.0f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
