"""A site's robots.txt, read for article pages as RFC 9309 says, with protego (Scrapy's parser,
which implements the RFC's longest-match precedence, ``*`` and ``$``).

- 2xx: the rules apply to newsmon's user agent (its product token, ``newsmon``).
- 4xx (404 most often): no rules, everything may be fetched.
- 5xx, or no answer (timeout, refused connection, a body over the cap): everything is
  disallowed for now, and asked again sooner than a good answer would be.

Answers are cached per origin by their HTTP caching headers (``Cache-Control: max-age``,
``Expires``), never longer than 24 hours (RFC 9309, 2.4), and at least five minutes; concurrent
pages of one site share one fetch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from monitor.base.errors import AddressRefused, FetchError, HTTPStatusError
from monitor.base.types import FetchResult
from monitor.stages.schedule import cache_lifetime

PRODUCT = "newsmon"
MAX_LIFETIME = 24 * 3600.0
MIN_LIFETIME = 300.0
UNREACHABLE_LIFETIME = 600.0
MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least the first 500 KiB

FetchRobots = Callable[[str], Awaitable[FetchResult]]


@dataclass(frozen=True)
class RobotsAnswer:
    """What one origin's robots.txt says: ``rules`` (a protego parser), or everything allowed
    (``allow_all``), or everything disallowed with ``reason``."""

    allow_all: bool
    rules: object | None
    reason: str | None
    expires: float

    def allows(self, url: str) -> bool:
        if self.rules is not None:
            return bool(self.rules.can_fetch(url, PRODUCT))  # type: ignore[attr-defined]
        return self.allow_all


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def answer_of(result: FetchResult | None, error: Exception | None, now: datetime) -> RobotsAnswer:
    """The answer for one robots.txt fetch (pure, given the clock)."""
    clock = time.monotonic()
    if error is not None:
        if isinstance(error, HTTPStatusError) and 400 <= error.status < 500:
            return RobotsAnswer(True, None, None, clock + MAX_LIFETIME)
        reason = f"robots.txt could not be read ({error}): the site is treated as disallowed"
        return RobotsAnswer(False, None, reason, clock + UNREACHABLE_LIFETIME)
    assert result is not None
    assert result.body is not None
    from protego import Protego  # imported with the first page, not at start-up

    text = result.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
    lifetime = cache_lifetime(result.headers, now)
    lifetime = MAX_LIFETIME if lifetime is None else min(MAX_LIFETIME, lifetime)
    return RobotsAnswer(False, Protego.parse(text), None, clock + max(MIN_LIFETIME, lifetime))


@dataclass
class RobotsCache:
    """robots.txt answers by origin, fetched with ``fetch`` (a guarded fetch of one URL)."""

    fetch: FetchRobots
    now: Callable[[], datetime]
    _answers: dict[str, RobotsAnswer] = field(default_factory=dict)
    _pending: dict[str, asyncio.Future[RobotsAnswer]] = field(default_factory=dict)
    fetched: int = 0

    async def check(self, url: str) -> str | None:
        """None when ``url`` may be fetched, else why not."""
        answer = await self.answer(origin(url))
        if answer.allows(url):
            return None
        return answer.reason or "robots.txt disallows it"

    async def answer(self, site: str) -> RobotsAnswer:
        known = self._answers.get(site)
        if known is not None and known.expires > time.monotonic():
            return known
        pending = self._pending.get(site)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RobotsAnswer] = asyncio.get_running_loop().create_future()
        self._pending[site] = future
        try:
            answer = await self._read(site)
            future.set_result(answer)
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: the waiters, if any, raise it
            raise
        finally:
            del self._pending[site]
        self._remember(site, answer)
        return answer

    def _remember(self, site: str, answer: RobotsAnswer) -> None:
        self._answers[site] = answer
        if len(self._answers) > 10_000:  # bounded: forget the oldest origins
            for stale in list(self._answers)[:1000]:
                del self._answers[stale]

    async def _read(self, site: str) -> RobotsAnswer:
        self.fetched += 1
        try:
            result = await self.fetch(f"{site}/robots.txt")
        except AddressRefused:
            raise  # the page is refused for its address, whatever robots.txt would say
        except FetchError as e:
            return answer_of(None, e, self.now())
        return answer_of(result, None, self.now())
