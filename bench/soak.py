"""Soak: the daemon on N farm feeds at a steady poll rate, for minutes, measured from outside.

The farm (bench/farm.py) serves ``--feeds`` feeds over ``--hosts`` loopback hosts; every feed's
interval is ``feeds / rate`` seconds, so the daemon must hold ``--rate`` polls a second (111/s
is 100,000 feeds every 15 minutes). Each second a share of the feeds publishes one entry
(``--churn`` of the feeds per interval), and every entry matches a rule whose alerts go to a
webhook served here. The state is synced first with ``newsmon run --once`` (not measured); the
daemon then runs for ``--minutes`` after ``--warmup`` seconds. Reported:

- polls/s achieved (``newsmon_feed_polls`` from ``/metrics``), against the rate asked;
- CPU share of the daemon's process tree (parse workers included) of all cores, and CPU ms per
  poll; RSS of the tree over time (first and last minute, peak);
- poll lag (due time to a slot, the ``newsmon_poll_lag_seconds`` histogram) p50/p99;
- alert latency from the farm publishing an entry to the webhook receiving its alert, p50/p99,
  and how many published entries were alerted;
- with ``--teasers``, article pages extracted and fallen back per second (the teaser feeds'
  new entries have their page read: ``full_text: auto``).

    python bench/soak.py --feeds 2000 --rate 111 --minutes 3
    python bench/soak.py --feeds 2000 --rate 111 --minutes 3 --teasers 0.2
    python bench/soak.py --feeds 2000 --rate 111 --minutes 3 --code /path/to/other/checkout

``--code`` runs the daemon from another checkout (put first on ``PYTHONPATH``), to compare two
versions side by side on one machine. ``--state postgresql://...`` soaks on PostgreSQL (the
database is emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))
from farm import CITIES, Farm

CONFIG = """\
state: {state}
http: {{listen: "127.0.0.1:{metrics}"}}
defaults:
  concurrency: {concurrency}
  per_host: {per_host}
  interval: {interval}s
  timeout: 30s
  allow_private: true
rules:
  - id: kota
    query: '{cities}'
sinks:
  hook:
    type: webhook
    url: "http://127.0.0.1:{hook}/hook"
    secret: whsec_c29ha3NvYWtzb2Frc29ha3NvYWtzb2Frc29ha3NvYWs=
feeds:
{feeds}
"""
LINK = re.compile(rb"berita\d+\.example/(\d+)/(\d+)")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- the process tree, read from /proc ---------------------------------------------------------


def tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def usage(root: int) -> tuple[float, float, float]:
    """CPU seconds (user + system, the tree's live processes), and the tree's RSS and PSS in
    MiB: RSS counts a page shared by several processes (the fork server's modules in each parse
    worker, say) in each of them, PSS splits it between them."""
    cpu = rss = pss = 0.0
    for pid in tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (OSError, IndexError, ValueError):
            continue
        cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        rss += pages * PAGE / 2**20
        pss += sum(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return cpu, rss, pss / 1024


# --- /metrics -----------------------------------------------------------------------------------


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)
    return values


def polls(metrics: dict[str, float]) -> float:
    return sum(v for k, v in metrics.items() if k.startswith("newsmon_feed_polls_total{"))


def page_figures(first: dict[str, float], last: dict[str, float], wall: float) -> dict[str, Any]:
    """Article pages of the teaser feeds: fetched and fallen back per second, while measured."""

    def delta(result: str) -> float:
        key = f'newsmon_pages_total{{result="{result}"}}'
        return last.get(key, 0.0) - first.get(key, 0.0)

    return {
        "pages extracted/s": round(delta("extracted") / wall, 2),
        "pages fell back/s": round(delta("fell_back") / wall, 2),
    }


def lag_buckets(metrics: dict[str, float]) -> list[tuple[float, float]]:
    found = []
    for key, value in metrics.items():
        match = re.match(r'newsmon_poll_lag_seconds_bucket\{le="([^"]+)"\}', key)
        if match:
            found.append((float(match.group(1)), value))
    return sorted(found)


def quantile_of_buckets(before: list[Any], after: list[Any], q: float) -> float:
    """The bucket bound under which ``q`` of the window's observations fall (interpolated)."""
    counts = [(bound, a - b) for (bound, a), (_, b) in zip(after, before, strict=True)]
    total = counts[-1][1] if counts else 0
    if total <= 0:
        return float("nan")
    low_bound, low_count = 0.0, 0.0
    for bound, count in counts:
        if count >= q * total:
            if bound == float("inf"):
                return low_bound
            share = (q * total - low_count) / max(count - low_count, 1e-9)
            return low_bound + (bound - low_bound) * share
        low_bound, low_count = bound, count
    return low_bound


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the run ------------------------------------------------------------------------------------


class Soak:
    def __init__(self, args: argparse.Namespace, farm: Farm, tmp: Path) -> None:
        self.args = args
        self.farm = farm
        self.tmp = tmp
        self.published: dict[tuple[int, int], float] = {}
        self.latencies: list[float] = []
        self.received = 0
        self.interval = args.feeds / args.rate

    def config(self, hook: int, metrics: int) -> Path:
        a = self.args
        state = a.state or f"sqlite:///{self.tmp / 'state.db'}"
        feeds = "\n".join(f"  - url: {url}" for url in self.farm.urls)
        text = CONFIG.format(
            state=state,
            metrics=metrics,
            concurrency=a.concurrency,
            per_host=a.per_host,
            interval=round(self.interval, 3),
            cities=" OR ".join(CITIES),
            hook=hook,
            feeds=feeds,
        )
        path = self.tmp / "newsmon.yaml"
        path.write_text(text)
        path.chmod(0o600)
        return path

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = time.time()
        self.received += 1
        for feed, n in LINK.findall(body):
            sent = self.published.pop((int(feed), int(n)), None)
            if sent is not None:
                self.latencies.append(now - sent)
        return web.Response(status=204)

    def command(self, *argv: str) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        code = Path(self.args.code or Path(__file__).parent.parent).resolve()
        env["PYTHONPATH"] = str(code)  # and run from elsewhere: ``-m`` puts the cwd first
        return [sys.executable, "-m", "monitor", *argv], env

    async def run(self) -> dict[str, Any]:
        a = self.args
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        hook_port = runner.addresses[0][1]
        metrics_port = free_port()
        config = self.config(hook_port, metrics_port)
        if a.state and a.state.startswith("postgres"):
            await empty_postgres(a.state)
        argv, env = self.command("run", "--once", "--json", "--config", str(config))
        started = time.perf_counter()
        done = await asyncio.to_thread(
            subprocess.run, argv, env=env, cwd=self.tmp, capture_output=True
        )
        if done.returncode not in (0, 1):  # 1: some feed failed (a timeout on a busy machine)
            sys.exit(f"first sync failed: {done.stderr.decode()[-2000:]}")
        seconds = time.perf_counter() - started
        print(f"first sync: {seconds:.1f} s {done.stdout.decode().strip()}", file=sys.stderr)
        argv, env = self.command("run", "--config", str(config))
        log = (self.tmp / "daemon.log").open("wb")
        daemon = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=self.tmp, stdout=log, stderr=log
        )
        try:
            return await self.measure(daemon.pid, metrics_port)
        finally:
            daemon.terminate()
            await daemon.wait()
            await runner.cleanup()

    async def measure(self, pid: int, port: int) -> dict[str, Any]:
        a = self.args
        await wait_ready(port)
        share = a.churn / self.interval  # of the feeds, each second
        owed = 0.0
        end_warmup = time.monotonic() + a.warmup
        end = end_warmup + a.minutes * 60
        samples: list[tuple[float, float, float, float]] = []  # (t, cpu, rss, pss)
        first: Any = None
        while time.monotonic() < end:
            tick = time.monotonic()
            owed += share * a.feeds
            if owed >= 1:
                count, owed = int(owed), owed - int(owed)
                picked = await asyncio.to_thread(self.farm.publish, count / a.feeds)
                now = time.time()
                if tick >= end_warmup:
                    self.published.update(dict.fromkeys(picked, now))
            if tick >= end_warmup:
                samples.append((tick, *usage(pid)))
                if first is None:
                    first = (tick, await asyncio.to_thread(scrape, port))
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        last = (time.monotonic(), await asyncio.to_thread(scrape, port))
        await asyncio.sleep(min(10.0, self.interval))  # let the last alerts arrive
        return self.summary(first, last, samples)

    def summary(self, first: Any, last: Any, samples: list[Any]) -> dict[str, Any]:
        a = self.args
        wall = last[0] - first[0]
        done = polls(last[1]) - polls(first[1])
        cpu = samples[-1][1] - samples[0][1]
        span = samples[-1][0] - samples[0][0]
        early = [s for s in samples if s[0] - samples[0][0] < 60]
        late = [s for s in samples if samples[-1][0] - s[0] < 60]
        minute, final = [s[2] for s in early], [s[2] for s in late]
        before, after = lag_buckets(first[1]), lag_buckets(last[1])
        alerted = len(self.latencies)
        return {
            "feeds": a.feeds,
            "rate asked": a.rate,
            "polls/s": round(done / wall, 1),
            "cpu share": round(cpu / span / (os.cpu_count() or 1), 3),
            "cpu ms/poll": round(1000 * cpu / max(done, 1), 2),
            "rss MiB first minute": round(statistics.median(minute), 1),
            "rss MiB last minute": round(statistics.median(final), 1),
            "rss MiB peak": round(max(s[2] for s in samples), 1),
            "pss MiB first minute": round(statistics.median(s[3] for s in early), 1),
            "pss MiB last minute": round(statistics.median(s[3] for s in late), 1),
            "pss MiB peak": round(max(s[3] for s in samples), 1),
            "lag p50 s": round(quantile_of_buckets(before, after, 0.5), 2),
            "lag p99 s": round(quantile_of_buckets(before, after, 0.99), 2),
            "alert p50 s": round(pct(self.latencies, 0.5), 2),
            "alert p99 s": round(pct(self.latencies, 0.99), 2),
            "alerted/published": f"{alerted}/{alerted + len(self.published)}",
            **page_figures(first[1], last[1], wall),
        }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


async def wait_ready(port: int) -> None:
    for _ in range(600):
        if await asyncio.to_thread(ready, port):
            return
        await asyncio.sleep(0.2)
    sys.exit("the daemon never became ready")


async def empty_postgres(url: str) -> None:
    """Drop everything in the database (asyncpg: the driver newsmon's postgresql extra brings)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--rate", type=float, default=111.0, help="polls/s asked")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before measuring")
    parser.add_argument("--churn", type=float, default=0.1, help="share of feeds per interval")
    parser.add_argument(
        "--teasers", type=float, default=0.0, help="share of teaser feeds, whose pages are read"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--state", help="a database URL (default: SQLite in a temporary dir)")
    parser.add_argument("--code", help="run the daemon from this checkout instead")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        Farm(args.feeds, args.hosts, teasers=args.teasers) as farm,
    ):
        result = asyncio.run(Soak(args, farm, Path(tmp)).run())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
