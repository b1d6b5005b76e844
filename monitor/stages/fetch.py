"""Fetching feeds over HTTP: one shared session, a total deadline, conditional GET, a body cap,
per-host politeness, and a guard that keeps feeds off non-public addresses.

The cap applies to the *decompressed* bytes as they stream in (``await resp.read()`` would
materialise a gzip bomb whole); the deadline is a total one, because per-read timeouts never fire
on a server that drips a byte a second.

The address guard (:mod:`monitor.stages.guard`) keeps fetches off non-public addresses: at
connect time for direct fetches, by resolving each hop's target for fetches through the proxy
(:mod:`monitor.stages.proxy`). Fetches that may reach private addresses pass their own (equally
verifying) ``ssl`` context, which is part of aiohttp's connection-pool key: a keep-alive
connection they opened is never reused by a guarded fetch.

A fetch's :class:`RequestOptions` (a feed's ``headers:``, ``auth:`` and ``user_agent:``, or a
page fetch's own) are merged over the session's headers; their values never appear in an error
message, and a redirect to another origin carries none of them but content negotiation.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncIterator, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

from monitor import __version__
from monitor.base.errors import (
    AddressRefused,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
)
from monitor.base.fetchspecs import secret_values
from monitor.base.httpdate import parse_retry_after
from monitor.base.types import NO_OPTIONS, FetchResult, RequestOptions
from monitor.stages.addresses import classify_address
from monitor.stages.guard import (
    PERMIT,
    Classifier,
    Permit,
    guarded_socket_factory,
    origin_only,
    request_guard,
)
from monitor.stages.proxy import ProxyRoutes, Route

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

__all__ = [
    "USER_AGENT",
    "Fetcher",
    "guarded_socket_factory",
    "make_session",
    "parse_retry_after",
    "permanent_target",
]


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
        middlewares=(request_guard(classify),),
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
    """Fetches for feeds and their article pages, through one session.

    ``proxies`` decides which fetches go through a proxy (by default the environment's).
    """

    session: aiohttp.ClientSession
    max_body: int
    per_host: int = 2
    proxies: ProxyRoutes = field(default_factory=ProxyRoutes.from_environment)
    _hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict, repr=False)

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        deadline: float,
        allow_private: bool = False,
        request: RequestOptions | None = None,
    ) -> FetchResult:
        """GET ``url`` conditionally; a 304 comes back as a result, other failures raise.

        ``request`` adds headers and a user agent to the session's (a feed's
        ``FeedPolicy.request``, or a page fetch's merged with its own ``Accept``).
        """
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(url, "only http and https URLs are fetched")
        options = request or NO_OPTIONS
        headers = _request_headers(options, etag, last_modified)
        route = self.proxies.route(url)
        permit = Permit(allow_private, url, route is not None, origin_only(dict(options.headers)))
        permit.proxy_headers = route.headers if route else {}
        token = PERMIT.set(permit)
        try:
            # The deadline starts once it is this feed's turn at its host: waiting behind a
            # host's other feeds is politeness, not a slow server.
            async with self._host_slot(url), asyncio.timeout(deadline):
                return await self._get(url, headers, allow_private, route)
        except (TimeoutError, aiohttp.ClientError) as e:
            secrets = (*secret_values(options), *(route.secrets if route else ()))
            raise _translate(url, e, deadline, permit, secrets) from e
        finally:
            PERMIT.reset(token)

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

    async def _get(
        self, url: str, headers: dict[str, str], allow_private: bool, route: Route | None
    ) -> FetchResult:
        async with self.session.get(
            url,
            headers=headers,
            max_redirects=MAX_REDIRECTS + 1,  # aiohttp gives up at the N-th redirect itself
            ssl=_private_ssl() if allow_private else True,
            proxy=route.proxy if route else None,
            proxy_headers=dict(route.headers) if route else None,  # for CONNECT; aiohttp adds to it
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


def _request_headers(
    options: RequestOptions, etag: str | None, last_modified: str | None
) -> dict[str, str]:
    headers = dict(options.headers)
    if options.user_agent:
        headers["User-Agent"] = options.user_agent
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _translate(
    url: str,
    error: TimeoutError | aiohttp.ClientError,
    deadline: float,
    permit: Permit,
    secrets: Iterable[str],
) -> FetchError:
    """The :class:`FetchError` for an exception of a fetch, with no secret in its message."""
    if isinstance(error, aiohttp.ServerTimeoutError):  # the 10 s connect timeout
        return FetchTimeout(url, _redact(f"{type(error).__name__}: {error}", secrets))
    if isinstance(error, TimeoutError):
        return FetchTimeout(url, f"no complete response within {deadline:g}s")
    if isinstance(error, aiohttp.TooManyRedirects):
        return FetchError(url, f"more than {MAX_REDIRECTS} redirects")
    if isinstance(error, aiohttp.RedirectClientError):
        return FetchError(url, _redact(f"redirected to an unusable URL: {error}", secrets))
    if isinstance(error, aiohttp.ClientConnectorError) and permit.refused:
        return AddressRefused(
            url,
            f"refused to connect to {permit.refused[0]}: not a public address "
            "(allow_private: true allows it)",
        )
    return FetchError(url, _redact(_describe(error), secrets))


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _describe(error: aiohttp.ClientError) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        reason = error.os_error.strerror or error.os_error
        return f"cannot connect to {error.host}:{error.port}: {reason}"
    if isinstance(error, aiohttp.ClientPayloadError):
        return f"broken response body: {error}"
    return f"{type(error).__name__}: {error}"
