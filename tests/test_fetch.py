"""Fetching from the fault-injecting loopback server: conditional GET, deadlines, body caps,
per-host limits, redirects, and the connect-time guard against non-public addresses."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from monitor import __version__
from monitor.base.errors import (
    AddressRefused,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
)
from monitor.base.types import FetchResult
from monitor.stages.addresses import classify_address
from monitor.stages.fetch import USER_AGENT, Fetcher, make_session
from tests.evil_server import EvilServer, gzip_bomb

MiB = 1024 * 1024


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    session = make_session(concurrency=8, per_host=2, user_agent=None)
    yield Fetcher(session, max_body=MiB)
    await session.close()


def loopback_is_public(host: str) -> str | None:
    """The classifier, except that 127.0.0.1 plays a public server (none can be served here)."""
    return None if host == "127.0.0.1" else classify_address(host)


@pytest.fixture
async def public_fetcher() -> AsyncIterator[Fetcher]:
    session = make_session(concurrency=8, per_host=2, user_agent=None, classify=loopback_is_public)
    yield Fetcher(session, max_body=MiB)
    await session.close()


async def get(
    fetcher: Fetcher, url: str, *, deadline: float = 5, allow_private: bool = False
) -> FetchResult:
    async with asyncio.timeout(30):
        return await fetcher.fetch(
            url, etag=None, last_modified=None, deadline=deadline, allow_private=allow_private
        )


# --- politeness --------------------------------------------------------------------------------


async def test_conditional_get_round_trip(
    fetcher: Fetcher, evil: EvilServer, seed_feed: bytes
) -> None:
    """The second request carries If-None-Match and gets a 304 without a body."""
    url = evil.set("f.xml", seed_feed, headers={"Last-Modified": "Sun, 25 Oct 2020 03:00:00 GMT"})
    first = await fetcher.fetch(url, etag=None, last_modified=None, deadline=5, allow_private=True)
    assert first.status == 200
    assert first.body == seed_feed
    assert first.etag
    assert first.last_modified == "Sun, 25 Oct 2020 03:00:00 GMT"
    second = await fetcher.fetch(
        url, etag=first.etag, last_modified=first.last_modified, deadline=5, allow_private=True
    )
    assert second.not_modified
    assert second.body is None
    [plain, conditional] = evil.hits("f.xml")
    assert "If-None-Match" not in plain.headers
    assert conditional.headers["If-None-Match"] == first.etag
    assert conditional.headers["If-Modified-Since"] == first.last_modified


async def test_the_user_agent_names_newsmon_and_its_version(
    fetcher: Fetcher, evil: EvilServer, seed_feed: bytes
) -> None:
    await get(fetcher, evil.set("f.xml", seed_feed), allow_private=True)
    [hit] = evil.hits("f.xml")
    assert hit.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith(f"newsmon/{__version__} ")


@pytest.mark.parametrize(
    ("status", "phrase"), [(404, "Not Found"), (410, "Gone"), (500, "Internal Server Error")]
)
async def test_error_statuses_are_status_errors(
    fetcher: Fetcher, evil: EvilServer, status: int, phrase: str
) -> None:
    url = evil.set("e.xml", b"nope", status=status)
    with pytest.raises(HTTPStatusError, match=f"HTTP {status} {phrase}") as info:
        await get(fetcher, url, allow_private=True)
    assert info.value.status == status
    assert info.value.retry_after is None


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_comes_with_the_status_error(
    fetcher: Fetcher, evil: EvilServer, status: int
) -> None:
    url = evil.set("busy.xml", b"", status=status, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        await get(fetcher, url, allow_private=True)
    assert info.value.retry_after == 120.0


async def test_a_hosts_feeds_share_its_slots_and_waiting_is_not_a_timeout(
    evil: EvilServer,
) -> None:
    """12 feeds on one host with per_host=2: never more than 2 requests in flight at the server,
    and feeds waiting their turn (1.5 s in all) are not cut off by a 1 s deadline."""
    session = make_session(concurrency=16, per_host=2, user_agent=None)
    fetcher = Fetcher(session, max_body=MiB, per_host=2)
    try:
        results = await asyncio.gather(
            *(
                get(fetcher, evil.url(f"slow?s=0.25&n={i}"), deadline=1, allow_private=True)
                for i in range(12)
            )
        )
    finally:
        await session.close()
    assert len(results) == 12
    assert evil.max_in_flight == 2


# --- unbreakable -------------------------------------------------------------------------------


async def test_a_dripping_server_is_cut_off_at_the_total_deadline(
    fetcher: Fetcher, evil: EvilServer
) -> None:
    """Cut at the 1 s deadline, as the server counts it: about 10 bytes at its pace of one per
    0.1 s (the server shares this event loop, so a slow machine slows both alike)."""
    with pytest.raises(FetchTimeout) as info:
        await get(fetcher, evil.url("drip"), deadline=1, allow_private=True)
    assert isinstance(info.value, TimeoutError)
    assert evil.dripped <= 15


async def test_a_one_gigabyte_gzip_bomb_is_refused_with_bounded_memory(evil: EvilServer) -> None:
    """1 GiB of zeros in a 1 MB gzip body: refused at the 10 MiB cap on the decompressed bytes,
    and the Python heap (tracemalloc) never holds much more than the cap."""
    gzip_bomb()  # built before measuring: the server's copy is not the client's memory
    session = make_session(concurrency=4, per_host=2, user_agent=None)
    fetcher = Fetcher(session, max_body=10 * MiB)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="decompressed"):
            await get(fetcher, evil.url("gzip-bomb"), deadline=30, allow_private=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await session.close()
    assert peak < 32 * MiB, f"peak {peak / MiB:.1f} MiB"


async def test_a_plain_body_over_the_cap_is_refused(fetcher: Fetcher, evil: EvilServer) -> None:
    url = evil.set("big.xml", b"x" * (2 * MiB))
    with pytest.raises(BodyTooLarge):
        await get(fetcher, url, allow_private=True)


# --- redirects ---------------------------------------------------------------------------------


def chain(evil: EvilServer, hops: int, final: str, status: int = 302) -> str:
    url = final
    for _ in range(hops):
        url = evil.url(f"redirect?s={status}&to={quote(url, safe='')}")
    return url


async def test_redirects_are_followed_up_to_five_hops(
    fetcher: Fetcher, evil: EvilServer, seed_feed: bytes
) -> None:
    final = evil.set("f.xml", seed_feed)
    result = await get(fetcher, chain(evil, 5, final), allow_private=True)
    assert result.body == seed_feed
    with pytest.raises(FetchError, match="more than 5 redirects"):
        await get(fetcher, chain(evil, 6, final), allow_private=True)
    with pytest.raises(FetchError, match="more than 5 redirects"):
        await get(fetcher, evil.url("loop/0"), allow_private=True)


async def test_the_permanent_part_of_a_redirect_chain_is_reported(
    fetcher: Fetcher, evil: EvilServer, seed_feed: bytes
) -> None:
    """301 A -> B then 302 B -> C: the feed moved to B; C is only where B points today."""
    final = evil.set("f.xml", seed_feed)
    middle = chain(evil, 1, final, status=302)
    result = await get(fetcher, chain(evil, 1, middle, status=301), allow_private=True)
    assert URL(result.moved_to) == URL(middle)
    assert result.url == final
    temporary = await get(fetcher, chain(evil, 1, final, status=307), allow_private=True)
    assert temporary.moved_to is None


async def test_a_redirect_to_another_scheme_is_refused(fetcher: Fetcher, evil: EvilServer) -> None:
    with pytest.raises(FetchError, match="unusable URL"):
        await get(fetcher, chain(evil, 1, "file:///etc/passwd"), allow_private=True)


# --- the address guard -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "http://127.0.0.1:{p}/f.xml",
        "http://localhost:{p}/f.xml",
        "http://[::ffff:127.0.0.1]:{p}/f.xml",
        "http://[::ffff:7f00:1]:{p}/f.xml",
        "http://0x7f000001:{p}/f.xml",
        "http://0.0.0.0:{p}/f.xml",
        "http://127.0.0.2:{p2}/f.xml",
    ],
)
async def test_a_loopback_feed_is_never_contacted(
    fetcher: Fetcher, evil: EvilServer, seed_feed: bytes, form: str
) -> None:
    """Whatever the spelling of the address, the guard refuses before connecting: 0 hits."""
    evil.set("f.xml", seed_feed)
    url = form.format(p=evil.ports["127.0.0.1"], p2=evil.ports["127.0.0.2"])
    with pytest.raises(AddressRefused, match="not a public address") as info:
        await get(fetcher, url)
    assert "allow_private" in info.value.message
    assert evil.requests == []


@pytest.mark.parametrize("form", ["http://127.1:{p}/f.xml", "http://2130706433:{p}/f.xml"])
async def test_non_canonical_ip_literals_are_refused_before_any_io(
    fetcher: Fetcher, evil: EvilServer, seed_feed: bytes, form: str
) -> None:
    """yarl refuses these spellings outright (where inet_aton would read 127.0.0.1)."""
    evil.set("f.xml", seed_feed)
    with pytest.raises(FetchError, match="not a canonical IPv4 address"):
        await get(fetcher, form.format(p=evil.ports["127.0.0.1"]), allow_private=True)
    assert evil.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://10.0.0.1/",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
    ],
)
async def test_metadata_and_private_addresses_are_refused_without_a_packet(
    fetcher: Fetcher, url: str
) -> None:
    """Refused at once, not after a connect timeout: no packet leaves for these addresses."""
    started = time.monotonic()
    with pytest.raises(AddressRefused):
        await get(fetcher, url)
    assert time.monotonic() - started < 5


async def test_allow_private_lets_a_feed_reach_loopback(
    fetcher: Fetcher, evil: EvilServer, seed_feed: bytes
) -> None:
    url = evil.set("f.xml", seed_feed)
    result = await get(fetcher, url, allow_private=True)
    assert result.body == seed_feed
    assert len(evil.hits("f.xml")) == 1


@pytest.mark.parametrize("target_host", ["127.0.0.2", "[::ffff:127.0.0.2]", "[::ffff:7f00:2]"])
async def test_a_redirect_to_a_private_address_is_refused_at_the_hop(
    public_fetcher: Fetcher, evil: EvilServer, seed_feed: bytes, target_host: str
) -> None:
    """A "public" feed (127.0.0.1 here) redirecting to a private one: the hop is refused and
    the private address never sees a request."""
    evil.set("f.xml", seed_feed)
    target = f"http://{target_host}:{evil.ports['127.0.0.2']}/f.xml"
    with pytest.raises(AddressRefused):
        await get(public_fetcher, chain(evil, 1, target, status=301))
    assert evil.hits(host="127.0.0.2") == []
    assert len(evil.hits(host="127.0.0.1")) == 1


async def test_a_private_keep_alive_connection_is_not_reused_by_a_guarded_fetch(
    fetcher: Fetcher, evil: EvilServer, seed_feed: bytes
) -> None:
    """An allowed fetch leaves a pooled connection behind; a guarded fetch of the same URL must
    still be refused, not ride on it."""
    url = evil.set("f.xml", seed_feed)
    await get(fetcher, url, allow_private=True)
    with pytest.raises(AddressRefused):
        await get(fetcher, url)
    assert len(evil.hits("f.xml")) == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://x/"])
async def test_only_http_and_https_are_fetched(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        await get(fetcher, url, allow_private=True)


async def test_the_session_without_a_fetch_context_is_guarded(evil: EvilServer) -> None:
    """Code that uses the session directly (not through Fetcher.fetch) is guarded too."""
    session = make_session(concurrency=2, per_host=1, user_agent=None)
    try:
        with pytest.raises(aiohttp.ClientConnectorError, match="refused to connect"):
            async with asyncio.timeout(10), session.get(evil.url("f.xml")):
                pass
    finally:
        await session.close()
    assert evil.requests == []
