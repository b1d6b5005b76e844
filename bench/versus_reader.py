"""Benchmark: newsmon against reader and a bare aiohttp fetch loop, side by side in one run.

One loopback farm (bench/farm.py: Indonesian RSS of 20-50 entries, 20-60 KB, ETag and
Last-Modified, feeds spread over many loopback hosts) serves every contender in turn, each from
a fresh state, through three cycles: the first sync (everything new), an unchanged cycle (all
304) and a cycle after ``--churn`` of the feeds gained one entry. Every contender uses the same
concurrency: newsmon's ``concurrency`` (and ``per_host``), reader's ``update_feeds(workers=N)``,
the ceiling's semaphore and connection limit.

Timed two ways, both fair:

- whole process: ``newsmon run --once`` against a generated config, and a fresh interpreter
  that opens reader, adds the feeds (``exist_ok``) and runs ``update_feeds`` (start-up,
  imports, config and state included);
- cycle alone: one open ``Daemon`` timing each ``Daemon.run_once()``, one open reader timing
  each ``update_feeds``, and the bare aiohttp loop (conditional GETs, bodies read) as the
  ceiling no feed reader can beat.

reader runs with ``scheduled=False``: its default only updates feeds whose update interval
(an hour) has passed, which would skip every feed in the second and third cycles.

    pip install -e '.[bench]'
    python bench/versus_reader.py --feeds 1000 --concurrency 16 --rounds 1

Each figure is the median of ``--rounds`` rounds; ratios above 1 mean newsmon is faster.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CYCLES = ("first sync", "unchanged", "churn")


# --- the children: each contender runs in its own interpreter ---------------------------------


def child_lines() -> Any:
    """One line on stdin per cycle to run; the parent churns the farm between them."""
    while sys.stdin.readline():
        yield


def report(seconds: float, **facts: Any) -> None:
    print(json.dumps({"seconds": seconds, **facts}), flush=True)


async def newsmon_child(config: Path) -> None:
    from monitor.app.daemon import Daemon
    from monitor.app.log import configure_logging
    from monitor.config import load_config

    configure_logging(json=True, level="error")
    async with Daemon(load_config(config)) as daemon:
        for _ in child_lines():
            started = time.perf_counter()
            summary = await daemon.run_once()
            elapsed = time.perf_counter() - started
            statuses = {str(status): n for status, n in summary.feeds.items()}
            report(elapsed, statuses=statuses, new=summary.new, crashed=summary.crashed)


def reader_open(db: Path, urls: list[str]) -> Any:
    try:
        from reader import make_reader
    except ImportError:
        sys.exit("reader is not installed: pip install -e '.[bench]'")
    reader = make_reader(str(db))
    for url in urls:
        reader.add_feed(url, exist_ok=True)
    return reader


def reader_child(db: Path, urls: list[str], workers: int) -> None:
    reader = reader_open(db, urls)
    for _ in child_lines():
        started = time.perf_counter()
        new = unchanged = errors = 0
        for result in reader.update_feeds_iter(workers=workers, scheduled=False):
            if isinstance(result.value, Exception):
                errors += 1
            elif result.value is None:
                unchanged += 1
            else:
                new += result.value.new
        report(time.perf_counter() - started, new=new, unchanged=unchanged, errors=errors)
    reader.close()


def reader_once(db: Path, urls: list[str], workers: int) -> None:
    reader = reader_open(db, urls)
    reader.update_feeds(workers=workers, scheduled=False)
    reader.close()


async def ceiling_child(urls: list[str], concurrency: int, per_host: int) -> None:
    import aiohttp

    validators: dict[str, dict[str, str]] = {}
    limit = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=per_host)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def fetch(url: str) -> int:
            async with limit, session.get(url, headers=validators.get(url, {})) as response:
                await response.read()
                if response.status == 200:
                    validators[url] = {
                        "If-None-Match": response.headers.get("ETag", ""),
                        "If-Modified-Since": response.headers.get("Last-Modified", ""),
                    }
                return response.status

        for _ in child_lines():
            started = time.perf_counter()
            statuses = await asyncio.gather(*(fetch(url) for url in urls))
            elapsed = time.perf_counter() - started
            report(elapsed, statuses={str(s): statuses.count(s) for s in set(statuses)})


def child(argv: list[str]) -> None:
    kind, path, urls_file, concurrency, per_host = argv
    urls = Path(urls_file).read_text().split()
    if kind == "newsmon":
        asyncio.run(newsmon_child(Path(path)))
    elif kind == "reader":
        reader_child(Path(path), urls, int(concurrency))
    elif kind == "reader-once":
        reader_once(Path(path), urls, int(concurrency))
    else:
        asyncio.run(ceiling_child(urls, int(concurrency), int(per_host)))


# --- the parent: one farm, every contender in turn ---------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, farm: Any, tmp: Path) -> None:
        self.args = args
        self.farm = farm
        self.tmp = tmp
        self.urls_file = tmp / "urls.txt"
        self.urls_file.write_text("\n".join(farm.urls) + "\n")
        self.runs = 0

    def fresh(self, name: str) -> Path:
        self.runs += 1
        place = self.tmp / f"{name}-{self.runs}"
        place.mkdir()
        return place

    def child_argv(self, kind: str, path: Path) -> list[str]:
        a = self.args
        where = [str(path), str(self.urls_file), str(a.concurrency), str(a.per_host)]
        return [sys.executable, __file__, "--child", kind, *where]

    def config(self) -> Path:
        place = self.fresh("newsmon")
        feeds = "\n".join(f"  - url: {url}" for url in self.farm.urls)
        path = place / "newsmon.yaml"
        from pipeline import CONFIG  # bench/ is on sys.path (see main)

        a = self.args
        text = CONFIG.format(
            state=place / "state.db", concurrency=a.concurrency, per_host=a.per_host, feeds=feeds
        )
        path.write_text(text)
        return path

    def whole(self, argv: list[str]) -> list[float]:
        """Three cycles, each a fresh process: its wall time."""
        times = []
        for cycle in CYCLES:
            if cycle == "churn":
                self.farm.churn(self.args.churn)
            started = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"{' '.join(argv[:4])} failed:\n{done.stderr[-2000:]}")
            times.append(time.perf_counter() - started)
        return times

    def alone(self, argv: list[str]) -> list[float]:
        """Three cycles in one open process: the time each one reports."""
        times = []
        with subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as process:
            assert process.stdin is not None
            assert process.stdout is not None
            for cycle in CYCLES:
                if cycle == "churn":
                    self.farm.churn(self.args.churn)
                process.stdin.write("go\n")
                process.stdin.flush()
                facts = json.loads(process.stdout.readline())
                if self.args.verbose:
                    print(f"    {argv[3]:>8} {cycle:>10}: {facts}", file=sys.stderr)
                times.append(facts["seconds"])
            process.stdin.close()
        return times

    def round(self) -> dict[str, list[float]]:
        newsmon = shutil.which("newsmon", path=str(Path(sys.executable).parent)) or "newsmon"
        return {
            "ceiling": self.alone(self.child_argv("ceiling", self.fresh("ceiling"))),
            "newsmon process": self.whole(
                [newsmon, "run", "--once", "--config", str(self.config())]
            ),
            "reader process": self.whole(
                self.child_argv("reader-once", self.fresh("reader") / "reader.sqlite")
            ),
            "newsmon cycle": self.alone(self.child_argv("newsmon", self.config())),
            "reader cycle": self.alone(
                self.child_argv("reader", self.fresh("reader") / "reader.sqlite")
            ),
        }


def table(feeds: int, rounds: list[dict[str, list[float]]], churn: float) -> str:
    def rate(name: str, i: int) -> float:
        return feeds / statistics.median(r[name][i] for r in rounds)

    names = {
        "first sync": "first sync",
        "unchanged": "unchanged (304)",
        "churn": f"{churn:.0%} churn",
    }
    lines = [
        f"{'cycle':<17}{'timing':<15}{'newsmon':>9}{'reader':>9}{'ceiling':>9}"
        f"{'newsmon/reader':>16}{'newsmon/ceiling':>17}",
    ]
    for i, cycle in enumerate(CYCLES):
        ceiling = rate("ceiling", i)
        for timing in ("process", "cycle"):
            ours, theirs = rate(f"newsmon {timing}", i), rate(f"reader {timing}", i)
            label = "whole process" if timing == "process" else "cycle alone"
            lines.append(
                f"{names[cycle]:<17}{label:<15}{ours:>9.0f}{theirs:>9.0f}{ceiling:>9.0f}"
                f"{ours / theirs:>16.2f}{ours / ceiling:>17.2f}"
            )
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses of the farm")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--per-host", type=int, help="newsmon's and the ceiling's (default: all)")
    parser.add_argument("--churn", type=float, default=0.05, help="share of feeds gaining one")
    parser.add_argument("--rounds", type=int, default=1, help="report the median of rounds")
    parser.add_argument("--verbose", action="store_true", help="what each cycle saw (stderr)")
    args = parser.parse_args()
    args.per_host = args.per_host or args.concurrency
    sys.path.insert(0, str(Path(__file__).parent))
    from farm import Farm

    print(
        f"{args.feeds} feeds on {args.hosts} loopback hosts, concurrency {args.concurrency}, "
        f"per host {args.per_host}, {args.rounds} round(s), {os.cpu_count()} CPUs; feeds/s:",
        flush=True,
    )
    with Farm(feeds=args.feeds, hosts=args.hosts) as farm, tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, farm, Path(tmp))
        rounds = [bench.round() for _ in range(args.rounds)]
    print(table(args.feeds, rounds, args.churn))


if __name__ == "__main__":
    main()
