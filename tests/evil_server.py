"""A fault-injecting HTTP server on loopback: every way a feed URL can misbehave, one route each.

Static routes are set per test (``set(path, body, status=..., headers=...)``, with ETags
honoured like a real server); the dynamic ones are built in:

==========================  =================================================================
``/drip``                   one byte every 0.1 s for a minute (counts the bytes sent)
``/gzip-bomb``              1 GiB of zeros, gzip-compressed to about 1 MB
``/slow?s=0.3``             the seed feed after a delay (counts requests in flight)
``/redirect?to=URL&s=301``  a redirect with the given status
``/loop/N``                 an endless chain of redirects
``/churn``                  the seed feed with a new ``<lastBuildDate>`` and comment each time
``/canary``                 what a hostile feed would make a parser fetch; must stay at 0 hits
==========================  =================================================================

The server listens on 127.0.0.1 and 127.0.0.2 (Linux routes all of 127/8 to loopback), so a
test can treat one address as "public" and check the other one is never contacted. Every request
is recorded with the local address it arrived on.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SEED_ITEM = b"</item>"


@dataclass
class Hit:
    path: str
    host: str
    headers: dict[str, str]


@dataclass
class StaticRoute:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True


@functools.cache
def gzip_bomb(size: int = 1024**3) -> bytes:
    """``size`` zero bytes as a gzip member, built without ever holding them in memory.

    After a full flush deflate restarts from an empty window, so compressing the same 1 MiB
    block again gives the same bytes: compress it once and repeat the output.
    """
    block = b"\0" * (1024 * 1024)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeat = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    count = size // len(block)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = deflate.flush() + crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")
    return header + first + repeat * (count - 1) + trailer


class EvilServer:
    def __init__(self, seed_feed: bytes) -> None:
        self.seed_feed = seed_feed
        self.churn_body = seed_feed
        self.routes: dict[str, StaticRoute] = {}
        self.requests: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.dripped = 0
        self.runner: web.AppRunner | None = None
        self.ports: dict[str, int] = {}

    async def start(self, hosts: tuple[str, ...] = ("127.0.0.1", "127.0.0.2")) -> None:
        app = web.Application()
        app.router.add_get("/drip", self._drip)
        app.router.add_get("/gzip-bomb", self._gzip_bomb)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/loop/{n}", self._loop)
        app.router.add_get("/churn", self._churn)
        app.router.add_get("/{path:.*}", self._static)
        app.middlewares.append(self._record)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        for host in hosts:
            site = web.TCPSite(self.runner, host, 0)
            await site.start()
            self.ports[host] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.ports[host]}/{path.lstrip('/')}"

    def set(self, path: str, body: bytes, **route: Any) -> str:
        self.routes[path.lstrip("/")] = StaticRoute(body, **route)
        return self.url(path)

    def hits(self, path: str | None = None, host: str | None = None) -> list[Hit]:
        return [
            hit
            for hit in self.requests
            if (path is None or hit.path == path.lstrip("/")) and (host is None or hit.host == host)
        ]

    def counts(self) -> Counter[str]:
        return Counter(hit.path for hit in self.requests)

    # --- handlers ------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        host = request.transport.get_extra_info("sockname")[0] if request.transport else "?"
        self.requests.append(Hit(request.path.lstrip("/"), host, dict(request.headers)))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            self.in_flight -= 1

    async def _static(self, request: web.Request) -> web.Response:
        route = self.routes.get(request.match_info["path"])
        if route is None:
            return web.Response(status=404)
        headers = dict(route.headers)
        if route.etag and route.status == 200:
            etag = f'"{uuid.uuid5(uuid.NAMESPACE_OID, route.body.hex()).hex[:16]}"'
            headers["ETag"] = etag
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
        headers.setdefault("Content-Type", "application/rss+xml; charset=utf-8")
        return web.Response(status=route.status, body=route.body, headers=headers)

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for _ in range(600):
            await response.write(b" ")
            self.dripped += 1
            await asyncio.sleep(0.1)
        return response

    async def _gzip_bomb(self, request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
        return web.Response(body=gzip_bomb(), headers=headers)

    async def _slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "0.3")))
        return web.Response(body=self.seed_feed, content_type="application/rss+xml")

    async def _redirect(self, request: web.Request) -> web.Response:
        status = int(request.query.get("s", "302"))
        return web.Response(status=status, headers={"Location": request.query["to"]})

    async def _loop(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        return web.Response(status=302, headers={"Location": f"/loop/{n + 1}"})

    async def _churn(self, request: web.Request) -> web.Response:
        now = time.time()
        stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(now))
        volatile = f"<lastBuildDate>{stamp}</lastBuildDate><!-- generated at {now:.6f} -->"
        body = self.churn_body.replace(b"<item>", volatile.encode() + b"<item>", 1)
        return web.Response(body=body, content_type="application/rss+xml")
