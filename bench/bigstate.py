"""Benchmark: a store of 100,000 feeds and about 3 million entries, and what costs what in it.

Builds the state (newsmon's own schema and sync for the feeds, then the entries in bulk with
sqlite3's ``executemany`` in large transactions: minutes, not an hour), each feed synced and
due at a time spread over ``--interval``, then measures on it:

- the claim query's plan (``EXPLAIN QUERY PLAN``) and time: claiming 16 due feeds, and finding
  nothing due, must cost what is due, not what is stored;
- ``next_due_at`` (the claim loop's look at the next due time);
- a poll's reads for one feed (``get_entries_for_update`` for its 30 keys);
- ``newsmon feeds`` (a page, with the tally of every feed).

    python bench/bigstate.py --feeds 100000 --entries 30 [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bigconfig import write_config

STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).strftime(STAMP)


async def create(config: Path) -> None:
    from monitor.app.wiring import feed_schedules
    from monitor.base.clock import utcnow
    from monitor.config import load_config
    from monitor.store import Store

    loaded = load_config(config)
    store = await Store.open(loaded.settings.state, utcnow)
    try:
        await store.sync_feeds(feed_schedules(loaded))
    finally:
        await store.close()


def fill(db: Path, per_feed: int, interval: float) -> int:
    """Every feed synced with ``per_feed`` entries and due within ``interval`` seconds."""
    now = datetime.now(UTC)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(1)
    ids = [row[0] for row in conn.execute("SELECT id FROM feeds ORDER BY id")]
    conn.execute("BEGIN")
    conn.executemany(
        "UPDATE feeds SET synced_at=?, last_status='ok', last_success_at=?, "
        "last_attempt_at=?, etag=?, next_poll_at=? WHERE id=?",
        [
            (
                stamp(now),
                stamp(now),
                stamp(now),
                f'"{i}"',
                stamp(now + timedelta(seconds=rng.uniform(1, interval))),
                i,
            )
            for i in ids
        ],
    )
    conn.execute("COMMIT")
    rows = 0
    sql = (
        "INSERT INTO entries (feed_id, key, guid, url, canonical_url, title, summary, content,"
        " language, published_at, content_hash, material_hash, first_seen_at, updated_at,"
        " last_seen_at, listed, revision, hash_changes) "
        "VALUES (?,?,?,?,?,?,?,'','id',?,?,?,?,?,?,1,0,0)"
    )
    for start in range(0, len(ids), 2000):
        batch = []
        for feed in ids[start : start + 2000]:
            for n in range(per_feed):
                url = f"https://portal{feed % 5000}.example/{feed}/{n}"
                seen = stamp(now - timedelta(minutes=7 * n))
                digest = f"{feed:032x}{n:032x}"
                batch.append(
                    (
                        feed,
                        url,
                        url,
                        url,
                        url,
                        f"Berita {n} dari portal {feed}",
                        "Jakarta - pemerintah membahas anggaran tahun depan.",
                        seen,
                        digest,
                        digest,
                        seen,
                        seen,
                        seen,
                    )
                )
        conn.execute("BEGIN")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
        rows += len(batch)
    conn.execute("ANALYZE")
    conn.close()
    return rows


async def measure(config: Path) -> dict[str, Any]:
    import sqlalchemy as sa

    from monitor.base.clock import utcnow
    from monitor.config import load_config
    from monitor.store import Store
    from monitor.store.schema import feeds

    loaded = load_config(config)
    store = await Store.open(loaded.settings.state, utcnow)
    results: dict[str, Any] = {}
    try:
        async with store.engine.connect() as conn:
            f = feeds.c
            due = (
                sa.select(f.id)
                .where(
                    f.active.is_(True),
                    f.disabled_at.is_(None),
                    f.next_poll_at <= utcnow(),
                    sa.or_(f.lease_until.is_(None), f.lease_until < utcnow()),
                )
                .order_by(f.next_poll_at)
                .limit(16)
            )
            compiled = due.compile(conn.sync_engine, compile_kwargs={"literal_binds": True})
            plan = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            results["claim plan"] = [row[-1] for row in plan]
        results["claim 16 ms"] = await timed(lambda: store.claim_due_feeds("bench", 60, 16), 20)
        results["claim none due ms"] = await timed(
            lambda: store.claim_due_feeds(
                "bench", 60, 16, due_before=datetime(2000, 1, 1, tzinfo=UTC)
            ),
            20,
        )
        results["next_due_at ms"] = await timed(store.next_due_at, 20)
        keys = [f"https://portal{1 % 5000}.example/1/{n}" for n in range(30)]
        results["entries for update ms"] = await timed(
            lambda: store.get_entries_for_update(1, keys), 20
        )
    finally:
        await store.close()
    return results


async def timed(call: Any, times: int) -> float:
    took = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        took.append(time.perf_counter() - started)
    return round(1000 * sorted(took)[len(took) // 2], 2)


def feeds_command(config: Path) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "feeds", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    seconds = round(time.perf_counter() - started, 2)
    return {"newsmon feeds s": seconds, "newsmon feeds lines": len(done.stdout.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=5_000)
    parser.add_argument("--entries", type=int, default=30, help="per feed")
    parser.add_argument("--interval", type=float, default=900.0, help="seconds")
    parser.add_argument("--keep", type=Path, help="build here and keep it")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).parent.parent.resolve()))
    with tempfile.TemporaryDirectory() as tmp:
        place = args.keep or Path(tmp)
        place.mkdir(parents=True, exist_ok=True)
        config = place / "newsmon.yaml"
        write_config(config, args.feeds, args.hosts)
        started = time.perf_counter()
        asyncio.run(create(config))
        synced = time.perf_counter() - started
        rows = fill(place / "state.db", args.entries, args.interval)
        built = time.perf_counter() - started
        size = (place / "state.db").stat().st_size / 2**20
        results = {
            "feeds": args.feeds,
            "entries": rows,
            "sync s": round(synced, 1),
            "build s": round(built, 1),
            "db MiB": round(size),
            **asyncio.run(measure(config)),
            **feeds_command(config),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
