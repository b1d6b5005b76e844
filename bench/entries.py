"""Benchmark: what one poll costs when a feed of 30 or of 300 entries gains one entry.

A loopback server serves ``--feeds`` feeds of each size (farm entries: Indonesian text, GUIDs,
dates); after a first sync, each round gives every feed one new entry and times one
``Daemon.run_once()`` over them, parsing in this process so that ``process_time`` counts all
of it. Reported per size: median CPU ms per poll, and the share of it spent in the parse.

    python bench/entries.py --feeds 40 --rounds 5

A poll's cost should not grow with the entries a feed carries when only one is new; the parse
itself (feedparser over the whole document) does, and is reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))
from farm import item

CONFIG = """\
state: sqlite:///{state}
defaults:
  concurrency: 4
  per_host: 4
  interval: 1h
  allow_private: true
rules:
  - id: kota
    query: 'Jakarta OR Surabaya OR Bandung'
sinks:
  log: {{type: log}}
feeds:
{feeds}
"""


class Server:
    def __init__(self, sizes: dict[int, int]) -> None:
        self.sizes = sizes  # feed -> entries it carries
        self.newest = dict.fromkeys(sizes, 1000)
        self.bodies: dict[int, bytes] = {}

    def publish(self, feeds: list[int]) -> None:
        """One more entry in each of these feeds (bodies built now, outside the timing)."""
        for feed in feeds:
            self.newest[feed] += 1
            self.bodies[feed] = self.body(feed)

    def body(self, feed: int) -> bytes:
        newest = self.newest[feed]
        items = "".join(item(feed, 0, n) for n in range(newest, newest - self.sizes[feed], -1))
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Berita {feed}</title><link>https://berita0.example/{feed}</link>"
            f"<language>id</language>{items}</channel></rss>"
        ).encode()

    async def handle(self, request: web.Request) -> web.Response:
        feed = int(request.match_info["feed"])
        if feed not in self.bodies:
            self.bodies[feed] = self.body(feed)
        return web.Response(body=self.bodies[feed], content_type="application/rss+xml")


class TimedParser:
    """Parses in this process, adding up the CPU the parses take."""

    def __init__(self) -> None:
        self.cpu = 0.0

    async def parse(self, body: bytes, url: str, headers: Any, deadline: float) -> Any:
        from monitor.stages.parse import parse_feed

        started = time.process_time()
        try:
            return parse_feed(body, url, headers)
        finally:
            self.cpu += time.process_time() - started


async def run(args: argparse.Namespace) -> dict[int, tuple[float, float]]:
    from monitor.app.daemon import Daemon
    from monitor.app.log import configure_logging
    from monitor.config import load_config

    configure_logging(json=True, level="warning")
    sizes = {feed: 30 if feed % 2 else 300 for feed in range(2 * args.feeds)}
    server = Server(sizes)
    app = web.Application()
    app.router.add_get("/{feed}.xml", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    results: dict[int, tuple[float, float]] = {}
    for size in (30, 300):
        chosen = [feed for feed, n in sizes.items() if n == size]
        with tempfile.TemporaryDirectory() as tmp:
            feeds = "\n".join(f"  - url: http://127.0.0.1:{port}/{f}.xml" for f in chosen)
            path = Path(tmp) / "newsmon.yaml"
            path.write_text(CONFIG.format(state=Path(tmp) / "state.db", feeds=feeds))
            parser = TimedParser()
            async with Daemon(load_config(path), parse_pool=parser) as daemon:
                await daemon.run_once()  # the first sync
                per_poll, parse_share = [], []
                for _ in range(args.rounds):
                    server.publish(chosen)
                    parser.cpu = 0.0
                    started = time.process_time()
                    summary = await daemon.run_once()
                    cpu = time.process_time() - started
                    assert summary.new == len(chosen), summary
                    per_poll.append(1000 * cpu / len(chosen))
                    parse_share.append(1000 * parser.cpu / len(chosen))
                results[size] = (statistics.median(per_poll), statistics.median(parse_share))
    await runner.cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=40, help="feeds of each size")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print("| entries | CPU ms/poll | of which parse | rest |")
    print("|--------:|------------:|---------------:|-----:|")
    for size, (total, parse) in results.items():
        print(f"| {size:7} | {total:11.1f} | {parse:14.1f} | {total - parse:4.1f} |")
    print(f"300/30: {results[300][0] / results[30][0]:.2f}x")


if __name__ == "__main__":
    main()
