"""Fetching over a real loopback server: conditional GET, deadlines, body caps, HTTP errors."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from monitor.errors import BodyTooLarge, FetchError, FetchTimeout, HTTPStatusError
from monitor.fetch import USER_AGENT, Fetcher, make_session, parse_retry_after
from tests.conftest import FeedServer


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    session = make_session(concurrency=8, per_host=2, user_agent=None)
    yield Fetcher(session, max_body=1024 * 1024)
    await session.close()


async def test_conditional_get_round_trip(
    fetcher: Fetcher, feeds: FeedServer, seed_feed: bytes
) -> None:
    """The second request carries If-None-Match and gets a 304 without a body."""
    url = feeds.set("f.xml", seed_feed, headers={"Last-Modified": "Sun, 25 Oct 2020 03:00:00 GMT"})
    first = await fetcher.fetch(url, etag=None, last_modified=None, deadline=5)
    assert first.status == 200
    assert first.body == seed_feed
    assert first.etag
    assert first.last_modified == "Sun, 25 Oct 2020 03:00:00 GMT"
    second = await fetcher.fetch(
        url, etag=first.etag, last_modified=first.last_modified, deadline=5
    )
    assert second.not_modified
    assert second.body is None
    [plain, conditional] = feeds.hits("f.xml")
    assert "If-None-Match" not in plain
    assert conditional["If-None-Match"] == first.etag
    assert conditional["If-Modified-Since"] == first.last_modified
    assert plain["User-Agent"] == USER_AGENT


@pytest.mark.parametrize(("status", "retry_after"), [(404, None), (500, None), (429, 120.0)])
async def test_http_errors_are_status_errors(
    fetcher: Fetcher, feeds: FeedServer, status: int, retry_after: float | None
) -> None:
    url = feeds.set("e.xml", b"nope", status=status, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.fetch(url, etag=None, last_modified=None, deadline=5)
    assert info.value.status == status
    assert info.value.retry_after == (retry_after if status == 429 else 120.0)


async def test_connection_refused_is_a_fetch_error(fetcher: Fetcher, unused_tcp_port: int) -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        await fetcher.fetch(
            f"http://127.0.0.1:{unused_tcp_port}/f", etag=None, last_modified=None, deadline=5
        )


@pytest.fixture
async def evil() -> AsyncIterator[str]:
    """A server that drips bytes slowly or serves a gzip bomb."""

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for _ in range(60):
            await response.write(b" ")
            await asyncio.sleep(0.1)
        return response

    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)

    async def gzip_bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
        )

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (2 * 1024 * 1024))

    app = web.Application()
    app.router.add_get("/drip", drip)
    app.router.add_get("/bomb", gzip_bomb)
    app.router.add_get("/big", big)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_a_dripping_server_is_cut_off_at_the_total_deadline(
    fetcher: Fetcher, evil: str
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeout) as info:
        await fetcher.fetch(f"{evil}/drip", etag=None, last_modified=None, deadline=1)
    assert isinstance(info.value, TimeoutError)
    assert time.monotonic() - started < 3


async def test_the_body_cap_applies_to_decompressed_bytes(fetcher: Fetcher, evil: str) -> None:
    """64 MiB of zeros gzipped to ~64 KiB is refused at the 1 MiB cap."""
    with pytest.raises(BodyTooLarge, match="decompressed"):
        await fetcher.fetch(f"{evil}/bomb", etag=None, last_modified=None, deadline=10)
    with pytest.raises(BodyTooLarge):
        await fetcher.fetch(f"{evil}/big", etag=None, last_modified=None, deadline=10)


def test_retry_after_takes_seconds_or_a_date() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = parse_retry_after("Wed, 21 Oct 2099 07:28:00 GMT")
    assert later is not None
    assert later > 1e9
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


async def test_one_session_serves_every_fetch(feeds: FeedServer, seed_feed: bytes) -> None:
    session = make_session(concurrency=4, per_host=1, user_agent="custom/1.0")
    try:
        fetcher = Fetcher(session, max_body=10**6)
        urls = [feeds.set(f"f{i}.xml", seed_feed) for i in range(5)]
        results = await asyncio.gather(
            *(fetcher.fetch(u, etag=None, last_modified=None, deadline=5) for u in urls)
        )
        assert isinstance(session.connector, aiohttp.TCPConnector)
        assert session.connector.limit_per_host == 1
    finally:
        await session.close()
    assert all(r.status == 200 for r in results)
    assert {h["User-Agent"] for _, h in feeds.requests} == {"custom/1.0"}
