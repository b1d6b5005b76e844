"""A loopback feed farm: many Indonesian RSS feeds over many loopback hosts, for benchmarks.

One aiohttp server in its own process (so its CPU is not counted against the client measured)
listens on one port of 127.0.0.2 .. 127.0.0.(hosts+1); feed ``i`` lives on host ``i % hosts``,
so per-host connection limits behave as they do on the internet. Each feed carries 20-50
entries (20-60 KB) of Indonesian news text, with an ETag and a Last-Modified that change only
when the feed gains an entry; conditional GETs that match get a 304. ``churn(share)`` gives that
share of the feeds one new entry (the oldest drops out); ``slow`` feeds answer after a delay and
``failing`` feeds answer 500. ``teasers`` feeds carry a one-sentence teaser per entry, linking
to its article page on the farm (``/page/FEED/N``: some 60 KB of navigation, scripts, the
article and a related-links box, as a news site serves it).

    farm = Farm(feeds=1000, hosts=100)
    farm.start()
    urls = farm.urls
    farm.churn(0.05)
    farm.stop()

Alone: ``python bench/farm.py --feeds 1000 --hosts 100`` serves until Ctrl+C and prints the
feed URLs' pattern (``--urls FILE`` writes every URL, one a line).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import json
import multiprocessing
import random
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

WORDS = (
    "pemerintah dpr membahas rancangan anggaran tahun depan termasuk subsidi energi bantuan "
    "sosial rapat kerja berlangsung hingga malam menteri keuangan gubernur bank sentral "
    "inflasi harga beras cabai pasar petani nelayan banjir gempa jalan tol bandara pelabuhan "
    "presiden wakil partai koalisi oposisi pemilu kampanye sidang mahkamah hakim jaksa polisi "
    "tersangka korupsi proyek investasi ekspor impor nikel batu bara sawit listrik sekolah guru "
    "rumah sakit dokter vaksin warga desa kota provinsi pulau jawa sumatra kalimantan sulawesi "
    "menurut keterangan resmi yang diterima redaksi pada hari senin selasa rabu kamis jumat "
    "sabtu minggu pihaknya akan segera menindaklanjuti laporan masyarakat terkait kebijakan baru"
).split()
CITIES = ("Jakarta", "Surabaya", "Bandung", "Medan", "Makassar", "Semarang", "Denpasar")
ITEM = (
    "<item><title>{title}</title><link>https://berita{host}.example/{feed}/{n}</link>"
    '<guid isPermaLink="true">https://berita{host}.example/{feed}/{n}</guid>'
    "<pubDate>{date}</pubDate><category>Nasional</category>"
    "<description>{text}</description></item>"
)
TEASER_LINK = "http://{address}:{port}/page/{feed}/{n}#berita{host}.example/{feed}/{n}"
EPOCH = 1_796_000_000  # late 2026: entry n of a feed is published n * 7 minutes after it


def words(seed: int, count: int) -> list[str]:
    """A deterministic run of words: the same entry reads the same on every request."""
    state = seed * 2_654_435_761 % 2**32
    out = []
    for _ in range(count):
        state = (state * 1_103_515_245 + 12_345) % 2**31
        out.append(WORDS[(state >> 8) % len(WORDS)])
    return out


def entry_count(feed: int) -> int:
    """20 to 50 entries, spread over the feeds."""
    return 20 + feed * 7 % 31


def item(feed: int, host: int, n: int, port: int | None = None) -> str:
    """Entry ``n`` of a feed; with ``port``, a teaser linking to its page on the farm."""
    seed = feed * 1_000_003 + n
    title = " ".join(words(seed, 8)).capitalize()
    city = CITIES[seed % len(CITIES)]
    text = f"{city} - " + " ".join(words(seed + 1, 16 if port else 120)).capitalize() + "."
    date = email.utils.formatdate(EPOCH + n * 420, usegmt=True)
    xml = ITEM.format(title=title, host=host, feed=feed, n=n, date=date, text=text)
    if port is None:
        return xml
    link = TEASER_LINK.format(address=address(host), port=port, feed=feed, n=n, host=host)
    return xml.replace(
        f"<link>https://berita{host}.example/{feed}/{n}</link>", f"<link>{link}</link>"
    )


def article_page(feed: int, n: int) -> bytes:
    """The article page behind a teaser: its whole text among what a news site adds."""
    seed = feed * 1_000_003 + n
    city = CITIES[seed % len(CITIES)]
    body = "".join(
        f"<p>{city} - " + " ".join(words(seed + 1 + p, 70)).capitalize() + ".</p>" for p in range(6)
    )
    nav = "".join(f'<li><a href="/kanal/{i}">Kanal {i}</a></li>' for i in range(60))
    related = "".join(
        f'<li><a href="/page/{feed}/{n - i}">{" ".join(words(seed - i, 8))}</a></li>'
        for i in range(1, 6)
    )
    script = "".join(f"window.f{i}=function(a){{return a+{i}}};" for i in range(1500))
    return (
        f"<!DOCTYPE html><html lang='id'><head><title>{' '.join(words(seed, 8))}</title>"
        f"<script>{script}</script></head><body><header><nav><ul>{nav}</ul></nav></header>"
        f"<main><article><h1>{' '.join(words(seed, 8)).capitalize()}</h1>{body}</article>"
        f"<aside><h3>Berita terkait</h3><ul>{related}</ul></aside></main>"
        "<footer>Hak cipta dilindungi.</footer></body></html>"
    ).encode()


def feed_body(feed: int, host: int, newest: int, port: int | None = None) -> bytes:
    items = "".join(
        item(feed, host, n, port) for n in range(newest, newest - entry_count(feed), -1)
    )
    built = email.utils.formatdate(EPOCH + newest * 420, usegmt=True)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Berita {feed}</title><link>https://berita{host}.example/{feed}</link>"
        f"<description>Kabar terkini dari portal {feed}</description><language>id</language>"
        f"<lastBuildDate>{built}</lastBuildDate>{items}</channel></rss>"
    ).encode()


@dataclass
class FarmState:
    """What the server process holds: each feed's newest entry and its cached body."""

    feeds: int
    hosts: int
    slow: frozenset[int]
    failing: frozenset[int]
    slow_delay: float
    teasers: frozenset[int] = frozenset()
    port: int = 0
    newest: dict[int, int] = field(default_factory=dict)
    bodies: dict[int, bytes] = field(default_factory=dict)
    served: int = 0
    not_modified: int = 0
    pages: int = 0

    def first(self, feed: int) -> int:
        return self.newest.setdefault(feed, 100 + entry_count(feed))

    def body(self, feed: int) -> bytes:
        if feed not in self.bodies:
            port = self.port if feed in self.teasers else None
            self.bodies[feed] = feed_body(feed, feed % self.hosts, self.first(feed), port)
        return self.bodies[feed]

    def churn(self, share: float, seed: int) -> list[int]:
        """Give ``share`` of the feeds one more entry each (again and again: a soak churns
        the same feed many times); returns the feeds picked."""
        picked = random.Random(seed).sample(range(self.feeds), round(self.feeds * share))
        for feed in picked:
            self.newest[feed] = self.first(feed) + 1
            self.bodies.pop(feed, None)
        return picked


def make_app(state: FarmState) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        feed = int(request.match_info["feed"])
        if feed >= state.feeds:
            raise web.HTTPNotFound()
        if feed in state.slow:
            await asyncio.sleep(state.slow_delay)
        if feed in state.failing:
            return web.Response(status=500, text="Internal Server Error")
        newest = state.first(feed)
        tag = f'"{feed}-{newest}"'
        modified = email.utils.formatdate(EPOCH + newest * 420, usegmt=True)
        headers = {"ETag": tag, "Last-Modified": modified}
        match = request.headers.get("If-None-Match")
        since = request.headers.get("If-Modified-Since")
        if (match is not None and tag in match) or (match is None and since == modified):
            state.not_modified += 1
            return web.Response(status=304, headers=headers)
        state.served += 1
        return web.Response(
            body=state.body(feed), headers=headers, content_type="application/rss+xml"
        )

    async def page(request: web.Request) -> web.Response:
        feed, n = int(request.match_info["feed"]), int(request.match_info["n"])
        if feed not in state.teasers:
            raise web.HTTPNotFound()
        state.pages += 1
        return web.Response(body=article_page(feed, n), content_type="text/html")

    async def churn(request: web.Request) -> web.Response:
        share = float(request.query["share"])
        picked = state.churn(share, int(request.query.get("seed", "0")))
        published = [[feed, state.newest[feed]] for feed in picked]
        return web.json_response({"changed": len(picked), "published": published})

    async def stats(request: web.Request) -> web.Response:
        counts = {"served": state.served, "not_modified": state.not_modified, "pages": state.pages}
        return web.json_response(counts)

    app = web.Application()
    app.router.add_get("/feed/{feed}.xml", handle)
    app.router.add_get("/page/{feed}/{n}", page)
    app.router.add_post("/churn", churn)
    app.router.add_get("/stats", stats)
    return app


async def serve(state: FarmState, ready: Any, port: int = 0) -> None:
    runner = web.AppRunner(make_app(state), access_log=None)
    await runner.setup()
    first = web.TCPSite(runner, "127.0.0.2", port, backlog=4096, reuse_address=True)
    await first.start()
    port = state.port = runner.addresses[0][1]
    for host in range(1, state.hosts):
        site = web.TCPSite(runner, address(host), port, backlog=4096, reuse_address=True)
        await site.start()
    ready(port)
    await asyncio.Event().wait()


def address(host: int) -> str:
    """Host 0 is 127.0.0.2, host 1 is 127.0.0.3, and so on (all of 127/8 is loopback)."""
    n = host + 2
    return f"127.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def _run(state: FarmState, queue: Any) -> None:
    asyncio.run(serve(state, queue.put))


@dataclass
class Farm:
    """The farm in a child process: ``start()``, ``urls``, ``churn(share)``, ``stop()``."""

    feeds: int = 1000
    hosts: int = 100
    slow: float = 0.0
    failing: float = 0.0
    slow_delay: float = 2.0
    teasers: float = 0.0
    port: int = 0
    _process: Any = None
    _churns: int = 0

    def state(self) -> FarmState:
        every = range(self.feeds)
        slow = frozenset(random.Random(1).sample(every, round(self.feeds * self.slow)))
        failing = frozenset(random.Random(2).sample(every, round(self.feeds * self.failing)))
        teasers = frozenset(random.Random(3).sample(every, round(self.feeds * self.teasers)))
        return FarmState(self.feeds, self.hosts, slow, failing, self.slow_delay, teasers)

    def start(self) -> Farm:
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        self._process = context.Process(target=_run, args=(self.state(), queue), daemon=True)
        self._process.start()
        self.port = queue.get(timeout=60)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(10)
            self._process = None

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, feed: int) -> str:
        return f"http://{address(feed % self.hosts)}:{self.port}/feed/{feed}.xml"

    @property
    def urls(self) -> list[str]:
        return [self.url(feed) for feed in range(self.feeds)]

    def _control(self, path: str, data: bytes | None = None) -> dict[str, int]:
        url = f"http://127.0.0.2:{self.port}{path}"
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as reply:
            result: dict[str, int] = json.loads(reply.read())
            return result

    def churn(self, share: float) -> int:
        """Give ``share`` of the feeds one new entry each; returns how many changed."""
        return len(self.publish(share))

    def publish(self, share: float) -> list[tuple[int, int]]:
        """Like :meth:`churn`; returns each changed feed with its new entry's number."""
        self._churns += 1
        answer: Any = self._control(f"/churn?share={share}&seed={self._churns}", b"")
        return [(feed, n) for feed, n in answer["published"]]

    def stats(self) -> dict[str, int]:
        """Full responses and 304s served so far."""
        return self._control("/stats")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses (<= 60000)")
    parser.add_argument("--slow", type=float, default=0.0, help="share of slow feeds")
    parser.add_argument("--slow-delay", type=float, default=2.0, help="seconds")
    parser.add_argument("--failing", type=float, default=0.0, help="share of feeds answering 500")
    parser.add_argument("--teasers", type=float, default=0.0, help="share of teaser feeds")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--urls", type=Path, help="write every feed URL here, one a line")
    args = parser.parse_args()
    farm = Farm(args.feeds, args.hosts, args.slow, args.failing, args.slow_delay, args.teasers)
    state = farm.state()

    def ready(port: int) -> None:
        farm.port = port
        if args.urls is not None:
            args.urls.write_text("\n".join(farm.urls) + "\n")
        sizes = [len(state.body(feed)) for feed in range(min(args.feeds, 200))]
        print(
            f"{args.feeds} feeds on {args.hosts} hosts: {farm.url(0)} .. {farm.url(args.feeds - 1)}"
            f"; bodies {min(sizes) // 1024}-{max(sizes) // 1024} KB;"
            f" POST /churn?share=0.05 on {address(0)}:{port}",
            flush=True,
        )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(state, ready, args.port))


if __name__ == "__main__":
    main()
