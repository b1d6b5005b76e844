"""Fetching feeds over HTTP: one shared session, a total deadline, conditional GET, a body cap,
per-host politeness, and a guard that keeps feeds off non-public addresses.

The cap applies to the *decompressed* bytes as they stream in (``await resp.read()`` would
materialise a gzip bomb whole); the deadline is a total one, because per-read timeouts never fire
on a server that drips a byte a second.

The address guard is a ``socket_factory`` on the connector: aiohttp hands it each resolved
address just before connecting, for the first request and every redirect hop, and also for
IP-literal URLs (a custom resolver would be skipped for those: aiohttp does not resolve them).
Whether a fetch may reach private addresses (``allow_private``) travels in a context variable set
by :meth:`Fetcher.fetch`; without one the guard refuses. Fetches that may reach private addresses
pass their own (equally verifying) ``ssl`` context, which is part of aiohttp's connection-pool
key: a keep-alive connection they opened is never reused by a guarded fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from aiohttp.connector import AddrInfoType

from monitor import __version__
from monitor.base.errors import (
    AddressRefused,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
)
from monitor.base.httpdate import parse_retry_after
from monitor.base.types import FetchResult
from monitor.stages.addresses import classify_address

USER_AGENT = f"newsmon/{__version__} (+https://github.com/newsmon/newsmon)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.5"
)
KEPT_HEADERS = (
    "content-type",
    "cache-control",
    "expires",
    "date",
    "age",
    "retry-after",
    "content-location",
)
CHUNK = 64 * 1024
MAX_REDIRECTS = 5
PERMANENT_REDIRECTS = (301, 308)

Classifier = Callable[[str], str | None]

__all__ = ["USER_AGENT", "Fetcher", "make_session", "parse_retry_after", "permanent_target"]


@dataclass
class _Permit:
    """What the connect-time guard may let through for the fetch running in this context."""

    allow_private: bool
    refused: list[str] = field(default_factory=list)


_PERMIT: ContextVar[_Permit | None] = ContextVar("newsmon_fetch_permit", default=None)


@dataclass
class _Turn:
    """A host's slot taken ahead of the fetch (:meth:`Fetcher.host_turn`), for its first fetch."""

    host: str
    slot: asyncio.Semaphore
    held: bool = True


_TURN: ContextVar[_Turn | None] = ContextVar("newsmon_host_turn", default=None)


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def guarded_socket_factory(
    classify: Classifier = classify_address,
) -> Callable[[AddrInfoType], socket.socket]:
    """A socket factory that refuses non-public addresses unless the current fetch allows them.

    ``classify`` is the address classifier; tests inject one that treats a loopback address
    as public, since no public address can be served here.
    """

    def create(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        permit = _PERMIT.get()
        if permit is None or not permit.allow_private:
            host = str(address[0])
            reason = classify(host)
            if reason is not None:
                refusal = f"{host} ({reason})"
                if permit is not None:
                    permit.refused.append(refusal)
                raise OSError(errno.EACCES, f"refused to connect to {refusal}")
        return socket.socket(family, type_, proto)

    return create


def make_session(
    *,
    concurrency: int,
    per_host: int,
    user_agent: str | None,
    classify: Classifier = classify_address,
) -> aiohttp.ClientSession:
    """The one client session a daemon uses for all feeds."""
    connector = aiohttp.TCPConnector(
        limit=concurrency,
        limit_per_host=per_host,
        ttl_dns_cache=300,
        socket_factory=guarded_socket_factory(classify),
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": user_agent or USER_AGENT, "Accept": ACCEPT},
        # The total deadline is per fetch (asyncio.timeout in Fetcher.fetch), set by feed config.
        timeout=aiohttp.ClientTimeout(total=None, connect=10),
    )


@functools.cache
def _private_ssl() -> ssl.SSLContext:
    """A verifying TLS context of its own, so that private connections pool apart (see above)."""
    return ssl.create_default_context()


def permanent_target(history: tuple[aiohttp.ClientResponse, ...], final: str) -> str | None:
    """Where the leading run of permanent redirects (301, 308) led, if it is not empty.

    After ``301 A -> B``, ``302 B -> C`` the feed has moved to B for good, and C is only where B
    sends us today.
    """
    target = None
    for i, hop in enumerate(history):
        if hop.status not in PERMANENT_REDIRECTS:
            break
        target = str(history[i + 1].url) if i + 1 < len(history) else final
    return target


@dataclass(frozen=True)
class Fetcher:
    session: aiohttp.ClientSession
    max_body: int
    per_host: int = 2
    _hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict, repr=False)

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        deadline: float,
        allow_private: bool = False,
    ) -> FetchResult:
        """GET ``url`` conditionally; a 304 comes back as a result, other failures raise."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(url, "only http and https URLs are fetched")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        permit = _Permit(allow_private)
        token = _PERMIT.set(permit)
        try:
            # The deadline starts once it is this feed's turn at its host: waiting behind a
            # host's other feeds is politeness, not a slow server.
            async with self._host_slot(url), asyncio.timeout(deadline):
                return await self._get(url, headers, allow_private)
        except aiohttp.ServerTimeoutError as e:  # the 10 s connect timeout (also a TimeoutError)
            raise FetchTimeout(url, f"{type(e).__name__}: {e}") from e
        except TimeoutError as e:
            raise FetchTimeout(url, f"no complete response within {deadline:g}s") from e
        except aiohttp.TooManyRedirects as e:
            raise FetchError(url, f"more than {MAX_REDIRECTS} redirects") from e
        except aiohttp.RedirectClientError as e:
            raise FetchError(url, f"redirected to an unusable URL: {e}") from e
        except aiohttp.ClientConnectorError as e:
            if permit.refused:
                raise AddressRefused(
                    url,
                    f"refused to connect to {permit.refused[0]}: not a public address "
                    "(allow_private: true allows it)",
                ) from e
            raise FetchError(url, _describe(e)) from e
        except aiohttp.ClientError as e:
            raise FetchError(url, _describe(e)) from e
        finally:
            _PERMIT.reset(token)

    @contextlib.asynccontextmanager
    async def host_turn(self, url: str) -> AsyncIterator[None]:
        """Wait until ``url``'s host has a free slot, and keep it for the first fetch from that
        host inside this block (given back at its end if no fetch used it).

        A caller that waits here before it takes a slot of its own (the daemon's global limit)
        holds nothing while a busy host keeps it waiting.
        """
        host = _host_key(url)
        slot = self._slot(host)
        await slot.acquire()
        turn = _Turn(host, slot)
        token = _TURN.set(turn)
        try:
            yield
        finally:
            _TURN.reset(token)
            if turn.held:
                slot.release()

    @contextlib.asynccontextmanager
    async def _host_slot(self, url: str) -> AsyncIterator[None]:
        host = _host_key(url)
        turn = _TURN.get()
        if turn is None or not turn.held or turn.host != host:
            async with self._slot(host):
                yield
            return
        try:  # the turn this fetch was waited for
            yield
        finally:
            turn.held = False
            turn.slot.release()

    def _slot(self, host: str) -> asyncio.Semaphore:
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self.per_host)
        return slot

    async def _get(self, url: str, headers: dict[str, str], allow_private: bool) -> FetchResult:
        async with self.session.get(
            url,
            headers=headers,
            max_redirects=MAX_REDIRECTS + 1,  # aiohttp gives up at the N-th redirect itself
            ssl=_private_ssl() if allow_private else True,
        ) as resp:
            kept = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
            final = str(resp.url)
            moved_to = permanent_target(resp.history, final)
            if resp.status == 304:
                return FetchResult(final, 304, None, None, None, kept, moved_to)
            if not 200 <= resp.status < 300:
                retry_after = parse_retry_after(kept.get("retry-after"))
                raise HTTPStatusError(url, resp.status, retry_after)
            body = await self._read_capped(url, resp)
            return FetchResult(
                final,
                resp.status,
                body,
                resp.headers.get("ETag"),
                resp.headers.get("Last-Modified"),
                kept,
                moved_to,
            )

    async def _read_capped(self, url: str, resp: aiohttp.ClientResponse) -> bytes:
        length = resp.content_length
        if length is not None and length > self.max_body and "content-encoding" not in resp.headers:
            raise BodyTooLarge(url, f"body of {length} bytes is over the {self.max_body}-byte cap")
        chunks = []
        size = 0
        async for chunk in resp.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge(url, f"body is over the {self.max_body}-byte cap (decompressed)")
            chunks.append(chunk)
        return b"".join(chunks)


def _describe(error: aiohttp.ClientError) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        reason = error.os_error.strerror or error.os_error
        return f"cannot connect to {error.host}:{error.port}: {reason}"
    if isinstance(error, aiohttp.ClientPayloadError):
        return f"broken response body: {error}"
    return f"{type(error).__name__}: {error}"
