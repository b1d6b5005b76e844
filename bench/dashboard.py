"""Dashboard page timings over a large store: each page fetched over loopback, median of runs.

The store is filled directly (no polling): ``--feeds`` feeds in every state, each with its
full ring of 20 polls and 2 entries; 5% of the entries matched and alerted, with one to three
delivery attempts each, some dead; three days of hourly counts. The config lists every feed,
tagged (10% ``politik``, 50% ``umum``), as the daemon's would.

    python bench/dashboard.py [--feeds 100000] [--runs 7] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

STATES = [("ok", 0.90), ("error", 0.05), ("failing", 0.03), ("disabled", 0.01), ("never", 0.01)]


def ts(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def fill(db: Path, n: int, now: datetime, rng: random.Random) -> None:
    conn = sqlite3.connect(db)
    feeds, polls, entries, matches, alerts, attempts = [], [], [], [], [], []
    for i in range(1, n + 1):
        state = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
        last = now - timedelta(seconds=rng.uniform(0, 900))
        failing = ts(last - timedelta(hours=3)) if state in ("failing", "disabled") else None
        status = {"ok": "not_modified", "never": None}.get(state, "error")
        feeds.append(
            (
                i,
                f"https://host{i % 5000}.example/feed/{i}.xml",
                f"Feed {i}",
                ts(now),
                ts(now),
                ts(last) if status else None,
                status,
                "HTTP 500" if status == "error" else None,
                (3 if failing else 1) if status == "error" else 0,
                failing,
                ts(last) if state == "disabled" else None,
                20 if status else 0,
                tag_text(i),
            )
        )
        if status:
            for p in range(1, 21):
                polls.append((i, p % 20, p, ts(last - timedelta(minutes=15 * (20 - p))), status))
        for k in range(2):
            eid = i * 2 + k
            seen = now - timedelta(hours=rng.uniform(0, 72))
            entries.append(
                (
                    eid,
                    i,
                    f"k{k}",
                    f"https://host{i % 5000}.example/{eid}",
                    f"Berita {eid} sanksi anggaran",
                    "Ringkasan berita tentang sanksi.",
                    ts(seen),
                )
            )
            if eid % 20 == 0:
                hits = [
                    {"field": "title", "start": 13, "end": 19, "text": "sanksi", "term": "sanksi"}
                ]
                matches.append((eid, "sanksi", json.dumps(hits), ts(seen)))
                aid = f"msg_{eid}"
                dead = eid % 400 == 0
                alerts.append(
                    (
                        aid,
                        "hook",
                        "sanksi",
                        eid,
                        "article.matched",
                        "{}",
                        "dead" if dead else "delivered",
                        ts(seen),
                        ts(seen),
                        eid,
                    )
                )
                for t in range(1, (3 if dead else rng.randint(1, 2)) + 1):
                    attempts.append((aid, t, ts(seen), "dead" if dead else "delivered", "HTTP 500"))
    conn.executemany(
        "INSERT INTO feeds (id, url, name, created_at, next_poll_at, last_attempt_at, last_status,"
        " last_error, consecutive_failures, failing_since, disabled_at, polls, tags)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        feeds,
    )
    conn.executemany(
        "INSERT INTO poll_history (feed_id, slot, poll, at, status) VALUES (?,?,?,?,?)", polls
    )
    conn.executemany(
        "INSERT INTO entries (id, feed_id, key, url, title, summary, content_hash, first_seen_at,"
        " updated_at, last_seen_at) VALUES (?,?,?,?,?,?,'h',?,?,?)",
        [(*e, e[6], e[6]) for e in entries],
    )
    conn.executemany(
        "INSERT INTO matches (entry_id, rule_id, hits, created_at) VALUES (?,?,?,?)", matches
    )
    conn.executemany(
        "INSERT INTO alerts (id, sink, rule_id, entry_id, kind, payload, state, next_attempt_at,"
        " created_at, story_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
        alerts,
    )
    conn.executemany(
        "INSERT INTO delivery_attempts (alert_id, attempt, at, outcome, answer) VALUES (?,?,?,?,?)",
        attempts,
    )
    hours = [now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=h) for h in range(72)]
    conn.executemany(
        "INSERT INTO hourly_counts (hour, kind, sink, outcome, n) VALUES (?,?,?,?,?)",
        [
            (ts(h), kind, "", out, rng.randint(1000, 400000))
            for h in hours
            for kind, out in (("poll", "not_modified"), ("new_entries", ""))
        ],
    )
    conn.commit()
    conn.close()
    print(
        f"filled: {n} feeds, {len(polls)} polls kept, {len(entries)} entries, "
        f"{len(alerts)} alerts, {len(attempts)} attempts"
    )


def tags_of(i: int) -> list[str]:
    return ["umum"] * (i % 2 == 0) + ["politik"] * (i % 10 == 0)


def tag_text(i: int) -> str | None:
    """As ``sync_feeds`` stores them."""
    return f",{','.join(tags_of(i))}," if tags_of(i) else None


def config_text(db: Path, n: int) -> str:
    lines = [
        f"state: sqlite:///{db}",
        "rules:",
        "  - {id: sanksi, query: sanksi}",
        "  - {id: anggaran, query: 'anggaran AND NOT sepak'}",
        "sinks: {hook: {type: log}}",
        "feeds:",
    ]
    for i in range(1, n + 1):
        lines.append(
            f"  - {{url: 'https://host{i % 5000}.example/feed/{i}.xml', tags: {tags_of(i)}}}"
        )
    return "\n".join(lines) + "\n"


async def time_pages(config: Path, paths: list[str], runs: int) -> None:
    from monitor.app.web import Dashboard, serve
    from monitor.base.clock import utcnow
    from monitor.config import load_config
    from monitor.store import Store

    started = time.perf_counter()
    loaded = load_config(config)
    print(
        f"config of {len(loaded.settings.feeds)} feeds loaded in "
        f"{time.perf_counter() - started:.1f} s"
    )
    store = await Store.open(loaded.settings.state, utcnow)
    runner, port = await serve(Dashboard.from_config(store, lambda: loaded), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            for path in paths:
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    async with http.get(f"http://127.0.0.1:{port}{path}") as r:
                        body = await r.read()
                        assert r.status == 200, (path, r.status)
                    times.append((time.perf_counter() - t0) * 1000)
                print(
                    f"{path:<40} median {statistics.median(times):7.1f} ms  "
                    f"max {max(times):7.1f} ms  {len(body) // 1024} KiB"
                )
    finally:
        await runner.cleanup()
        await store.close()


async def main(args: argparse.Namespace) -> None:
    from monitor.base.clock import utcnow
    from monitor.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.dir or tmp)
        db = where / "dash.db"
        config = where / "newsmon.yaml"
        if not db.exists():
            store = await Store.open(f"sqlite:///{db}", utcnow)
            await store.close()
            t0 = time.perf_counter()
            fill(db, args.feeds, utcnow(), random.Random(7))
            print(f"filled in {time.perf_counter() - t0:.1f} s")
            config.write_text(config_text(db, args.feeds))
            config.chmod(0o600)
        else:  # a store kept by --dir: the schema follows the code
            store = await Store.open(f"sqlite:///{db}", utcnow)
            await store.close()
        mid = args.feeds // 2
        paths = [
            "/",
            "/feeds",
            "/feeds?sort=last_poll",
            "/feeds?state=failing",
            "/feeds?failing=1",
            "/feeds?host=host42.example",
            "/feeds?tag=politik",
            "/feeds?tag=umum",
            f"/feeds?offset={mid}",
            f"/feeds?sort=name&offset={mid}",
            f"/feeds/{mid}",
            "/alerts",
            "/alerts?tab=dead",
            f"/alerts/msg_{mid * 2 // 20 * 20}",
            "/rules",
            "/rules/sanksi",
            "/lab?q=sanksi&window=1d",
        ]
        await time_pages(config, paths, args.runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", help="keep the store and config here (reused when present)")
    asyncio.run(main(parser.parse_args()))
