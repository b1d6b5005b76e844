"""Fetching feeds over HTTP: one shared session, a total deadline, conditional GET, a body cap.

The cap applies to the *decompressed* bytes as they stream in (``await resp.read()`` would
materialise a gzip bomb whole); the deadline is a total one, because per-read timeouts never fire
on a server that drips a byte a second.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from monitor import __version__
from monitor.errors import BodyTooLarge, FetchError, FetchTimeout, HTTPStatusError
from monitor.types import FetchResult

USER_AGENT = f"newsmon/{__version__} (+https://github.com/newsmon/newsmon)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.5"
)
KEPT_HEADERS = ("content-type", "cache-control", "expires", "retry-after", "content-location")
CHUNK = 64 * 1024
MAX_REDIRECTS = 5


def make_session(
    *, concurrency: int, per_host: int, user_agent: str | None
) -> aiohttp.ClientSession:
    """The one client session a daemon uses for all feeds."""
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=per_host, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": user_agent or USER_AGENT, "Accept": ACCEPT},
        # The total deadline is per fetch (asyncio.timeout in Fetcher.fetch), set by feed config.
        timeout=aiohttp.ClientTimeout(total=None, connect=10),
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` value, either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when.tzinfo else None


@dataclass(frozen=True)
class Fetcher:
    session: aiohttp.ClientSession
    max_body: int

    async def fetch(
        self, url: str, *, etag: str | None, last_modified: str | None, deadline: float
    ) -> FetchResult:
        """GET ``url`` conditionally; a 304 comes back as a result, other failures raise."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with asyncio.timeout(deadline):
                return await self._get(url, headers)
        except TimeoutError as e:
            raise FetchTimeout(url, f"no complete response within {deadline:g}s") from e
        except aiohttp.TooManyRedirects as e:
            raise FetchError(url, f"more than {MAX_REDIRECTS} redirects") from e
        except aiohttp.ClientError as e:
            raise FetchError(url, _describe(e)) from e

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        async with self.session.get(url, headers=headers, max_redirects=MAX_REDIRECTS) as resp:
            kept = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
            if resp.status == 304:
                return FetchResult(str(resp.url), 304, None, None, None, kept)
            if resp.status != 200:
                raise HTTPStatusError(url, resp.status, parse_retry_after(kept.get("retry-after")))
            body = await self._read_capped(url, resp)
            return FetchResult(
                str(resp.url),
                200,
                body,
                resp.headers.get("ETag"),
                resp.headers.get("Last-Modified"),
                kept,
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
