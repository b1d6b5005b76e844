"""Benchmark: poll cycles over many loopback feeds, as ``newsmon run --once`` does them.

A feed server runs in its own process (so its CPU is not counted against newsmon's event loop)
and serves N feeds of 20 items each. Three cycles are timed: the first sync (everything new,
recorded silently), an unchanged cycle, and a cycle where a share of feeds has one new entry.

    python bench/pipeline.py --feeds 2000 [--no-etag | --churn] [--changed 0.05]

With ETags the unchanged cycle is all 304s; with ``--no-etag`` every poll is a 200 with the same
bytes, which the body hash skips without parsing. ``--churn`` serves what many CMSs do: no ETag
and a ``<lastBuildDate>`` and generator comment that change on every request, so neither the
validators nor the body hash can tell that nothing changed; the scan can.

``--without scan`` turns the scan off (every changed body is parsed), ``--without batch``
records every poll in its own transaction and ``--without counts`` skips the hourly counts'
upsert, to measure what each one saves or costs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

from aiohttp import web

ITEM = (
    "<item><title>Berita {feed}-{n}: pemerintah membahas anggaran</title>"
    "<link>https://news{feed}.example/{n}</link><guid>https://news{feed}.example/{n}</guid>"
    "<pubDate>Mon, 23 Nov 2026 10:{m:02d}:00 +0700</pubDate>"
    "<description>{text}</description></item>"
)
WORDS = (
    "pemerintah dpr membahas rancangan anggaran tahun depan termasuk subsidi energi bantuan "
    "sosial rapat kerja berlangsung hingga malam menteri keuangan gubernur bank sentral "
    "inflasi harga beras cabai pasar petani nelayan banjir gempa jalan tol bandara pelabuhan "
    "presiden wakil partai koalisi oposisi pemilu kampanye sidang mahkamah hakim jaksa polisi "
    "tersangka korupsi proyek investasi ekspor impor nikel batu bara sawit listrik sekolah guru "
    "rumah sakit dokter vaksin warga desa kota provinsi pulau jawa sumatra kalimantan sulawesi"
).split()


def text_of(feed: int, n: int) -> str:
    """About 60 words of its own for each item: distinct stories, as real feeds carry."""
    state = (feed * 1_000_003 + n) * 2_654_435_761 % 2**32
    words = []
    for _ in range(60):
        state = (state * 1_103_515_245 + 12_345) % 2**31
        words.append(WORDS[state % len(WORDS)])
    return "Jakarta - " + " ".join(words).capitalize() + "."


def feed_body(feed: int, newest: int, churn: bool = False) -> bytes:
    items = "".join(
        ITEM.format(feed=feed, n=n, m=n % 60, text=text_of(feed, n))
        for n in range(newest, newest - 20, -1)
    )
    volatile = ""
    if churn:
        now = time.time()
        stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(now))
        volatile = f"<lastBuildDate>{stamp}</lastBuildDate><!-- generated at {now:.6f} -->"
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"<language>id</language>{volatile}{items}</channel></rss>"
    ).encode()


def serve(port_queue: multiprocessing.Queue, etag: bool, churn: bool) -> None:  # type: ignore[type-arg]
    newest: dict[int, int] = {}

    async def handle(request: web.Request) -> web.Response:
        feed = int(request.match_info["feed"])
        body = feed_body(feed, newest.setdefault(feed, 20), churn)
        headers = {"Content-Type": "application/rss+xml"}
        if etag and not churn:
            tag = f'"{feed}-{newest[feed]}"'
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers)

    async def change(request: web.Request) -> web.Response:
        share = float(request.query["share"])
        total = int(request.query["feeds"])
        for feed in range(0, total, max(1, round(1 / share))):
            newest[feed] = newest.get(feed, 20) + 1
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{feed}.xml", handle)
        app.router.add_post("/change", change)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port_queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


# The config of a benchmark run over a farm (bench/versus_reader.py uses it too).
CONFIG = """\
state: sqlite:///{state}
defaults:
  concurrency: {concurrency}
  per_host: {per_host}
  timeout: 60s
  allow_private: true
  full_text: never  # the farm's entries link to hosts that serve no article pages
rules:
  - id: anggaran-belarus
    query: 'Belarus* AND anggaran'
  - id: sanksi
    query: 'sanksi OR embargo'
sinks:
  log: {{type: log}}
feeds:
{feeds}
"""


async def run(args: argparse.Namespace, port: int) -> None:
    import aiohttp

    from monitor.app.daemon import Daemon
    from monitor.app.log import configure_logging
    from monitor.config import load_config

    configure_logging(json=True, level="error")
    ablate(args.without)
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        feeds = "\n".join(f"  - url: {base}/feed/{i}.xml" for i in range(args.feeds))
        path = Path(tmp) / "bench.yaml"
        path.write_text(
            CONFIG.format(
                state=Path(tmp) / "bench.db",
                concurrency=args.concurrency,
                per_host=args.concurrency,
                feeds=feeds,
            )
        )
        loaded = load_config(path)
        async with Daemon(loaded) as daemon:
            for name in ("first sync", "unchanged", f"{args.changed:.0%} changed"):
                if "changed" in name and "un" not in name:
                    async with aiohttp.ClientSession() as session:
                        await session.post(
                            f"{base}/change", params={"share": args.changed, "feeds": args.feeds}
                        )
                started = time.perf_counter()
                summary = await daemon.run_once()
                elapsed = time.perf_counter() - started
                print(
                    f"{name:>12}: {args.feeds / elapsed:8.0f} polls/s  {elapsed:6.2f} s  "
                    f"statuses={dict(summary.feeds)} new={summary.new}"
                )
            workers = children_peak_rss()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: daemon {own:.0f} MiB, parse workers {workers} MiB")


def ablate(parts: list[str]) -> None:
    """Turn off the parse skip, the group commit or the hourly counts, to measure each one."""
    import monitor.stages.polling
    import monitor.store.feeds
    import monitor.store.outbox
    from monitor.store.batch import PollRecorder

    if "counts" in parts:

        async def uncounted(*args: object) -> None:
            return None

        monitor.store.feeds.bump = uncounted  # type: ignore[assignment]
        monitor.store.outbox.bump = uncounted  # type: ignore[assignment]

    if "scan" in parts:
        monitor.stages.polling.scan_fingerprint = lambda body, content_type: os.urandom(16).hex()
    if "batch" in parts:

        async def alone(self: PollRecorder, intent: object) -> object:
            return await self.store.record_update(intent, self.node)  # type: ignore[arg-type]

        PollRecorder.record = alone  # type: ignore[assignment,method-assign]


def children_peak_rss() -> list[int]:
    """Peak RSS (VmHWM) of this process's children, in MiB (Linux /proc)."""
    pids = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        pids += (task / "children").read_text().split()
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) // 1024)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--no-etag", dest="etag", action="store_false")
    parser.add_argument("--churn", action="store_true", help="no ETag, a new date on every GET")
    parser.add_argument(
        "--without", action="append", default=[], choices=["scan", "batch", "counts"], help="ablate"
    )
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[int] = context.Queue()
    server = context.Process(target=serve, args=(queue, args.etag, args.churn), daemon=True)
    server.start()
    try:
        mode = "churning bodies, no ETag" if args.churn else f"ETag {'on' if args.etag else 'off'}"
        without = f", without {' and '.join(args.without)}" if args.without else ""
        print(
            f"{args.feeds} loopback feeds, 20 items each, {mode}, "
            f"concurrency {args.concurrency}{without}"
        )
        asyncio.run(run(args, queue.get(timeout=30)))
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
