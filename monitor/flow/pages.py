"""Reading an entry's article page: robots.txt, a guarded fetch, the extractor.

A page is fetched like a feed (the same fetcher: address guard, per-host turns, total deadline,
body and decompression caps, redirect limit, user agent), after the site's robots.txt allows
it (unless the feed says ``robots: false``). A feed's ``allow_private`` extends to pages on the
feed's own host only: an intranet feed may link to its own site, but a link it carries to any
other private address is refused like any other feed's. Every failure is a value (a fallback
with its kind and reason), never an exception: the entry keeps the feed's text.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from monitor.base.errors import ParseError, UpdateError
from monitor.base.settings import FeedPolicy
from monitor.base.types import NO_OPTIONS, FetchResult, RequestOptions
from monitor.flow.events import PageEvents, Unobserved
from monitor.stages.extract import TARGET, PageText, extract_page
from monitor.stages.fetch import Fetcher
from monitor.stages.parse import ParsePool
from monitor.stages.robots import RobotsCache
from monitor.stages.teaser import words

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
ROBOTS_ACCEPT = "text/plain, */*;q=0.5"
# How the robots.txt fetch under way goes: as its page does (private addresses, credentials).
_ROBOTS_AS: ContextVar[tuple[bool, RequestOptions]] = ContextVar(
    "newsmon_robots_as", default=(False, NO_OPTIONS)
)


MAX_ATTEMPTS = 3
RETRY_AFTER = 60.0  # then twice that, and so on
FOR_GOOD = frozenset({"refused", "robots", "too_large", "no_article", "not_html", "gone"})


@dataclass(frozen=True)
class PageOutcome:
    """An article page read (``text`` set) or fallen back (``kind`` and ``reason`` say why)."""

    url: str
    text: str | None
    kind: str  # "done", or the failure's kind: refused, robots, timeout, http, no_article...
    reason: str | None = None

    @property
    def done(self) -> bool:
        return self.text is not None


def for_good(outcome: PageOutcome, attempts: int) -> bool:
    """Whether a failed page falls back now rather than being tried again."""
    if attempts >= MAX_ATTEMPTS or outcome.kind in FOR_GOOD:
        return True
    if outcome.kind == "http" and outcome.reason is not None:
        return not any(f"HTTP {code}" in outcome.reason for code in ("408", "429", "5"))
    return False


def may_reach_private(policy: FeedPolicy, page_url: str) -> bool:
    """A feed's ``allow_private`` covers its own host's pages, no other host's."""
    if not policy.allow_private:
        return False
    return urlsplit(page_url).hostname == urlsplit(policy.url).hostname


@dataclass
class PageReader:
    fetcher: Fetcher
    pool: ParsePool | None = None
    events: PageEvents = field(default_factory=Unobserved)
    robots: RobotsCache = field(init=False)

    def __post_init__(self) -> None:
        self.robots = RobotsCache(self._fetch_robots, lambda: datetime.now(UTC))

    async def read(self, url: str, policy: FeedPolicy, feed_text: str) -> PageOutcome:
        """The page's main text, or why the entry keeps ``feed_text``."""
        try:
            if policy.robots:
                token = _ROBOTS_AS.set((may_reach_private(policy, url), policy.request))
                try:
                    refusal = await self.robots.check(url)
                finally:
                    _ROBOTS_AS.reset(token)
                if refusal is not None:
                    return self._fell_back(url, "robots", refusal)
            result = await self.fetcher.fetch(
                url,
                etag=None,
                last_modified=None,
                deadline=policy.timeout,
                allow_private=may_reach_private(policy, url),
                request=policy.request.with_headers({"Accept": PAGE_ACCEPT}),
            )
            self.events.page_fetched()
            page = await self._extract(result, policy)
        except UpdateError as e:
            return self._fell_back(url, e.kind, e.message)
        if words(page.text) <= words(feed_text):
            reason = "the page says no more than the feed (no article: a paywall or a stub?)"
            return self._fell_back(url, "no_article", reason)
        self.events.page_extracted()
        return PageOutcome(url, page.text, "done")

    async def _extract(self, result: FetchResult, policy: FeedPolicy) -> PageText:
        assert result.body is not None
        if self.pool is None:  # tools and tests: in a thread, off the loop
            return await asyncio.to_thread(extract_page, result.body, result.url, result.headers)
        page = await self.pool.run(
            TARGET, result.body, result.url, result.headers, policy.parse_timeout
        )
        if not isinstance(page, PageText):
            raise ParseError(result.url, "the extractor gave no text", kind="no_article")
        return page

    def _fell_back(self, url: str, kind: str, reason: str) -> PageOutcome:
        self.events.page_fell_back(kind)
        return PageOutcome(url, None, kind, reason)

    async def _fetch_robots(self, url: str) -> FetchResult:
        allow_private, request = _ROBOTS_AS.get()
        return await self.fetcher.fetch(
            url,
            etag=None,
            last_modified=None,
            deadline=10.0,
            allow_private=allow_private,
            request=request.with_headers({"Accept": ROBOTS_ACCEPT}),
        )
