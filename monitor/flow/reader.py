"""Reading one feed: a guarded fetch, then a parse in the parse pool within its deadline.

The pipeline's first steps, which ``newsmon discover`` takes too, so that a feed is read the
same way wherever it is read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from monitor.base.settings import FeedPolicy
from monitor.base.types import FetchResult, ParsedFeed, RedirectSeen, Relocation
from monitor.stages.fetch import Fetcher
from monitor.stages.parse import Parser, parse_in
from monitor.stages.polling import Validators

LARGE_BODY = 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """A fetched body and what the poll learnt on the way to it."""

    result: FetchResult
    redirect: RedirectSeen
    relocation: Relocation | None = None


@dataclass(frozen=True)
class FeedReader:
    """Fetching and parsing one feed: the pipeline's first steps, which ``newsmon discover``
    takes too."""

    fetcher: Fetcher
    parse_pool: Parser | None = None

    async def fetch(
        self,
        url: str,
        policy: FeedPolicy,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        return await self.fetcher.fetch(
            url,
            etag=etag,
            last_modified=last_modified,
            deadline=policy.timeout,
            allow_private=policy.allow_private,
            request=policy.request,
        )

    async def parse(self, result: FetchResult, policy: FeedPolicy) -> ParsedFeed:
        """The fetched body as a feed; :class:`NotAFeed` (with the feeds it links to) for a
        page. Parsing runs in the parse pool, within ``parse_timeout``."""
        assert result.body is not None
        deadline = policy.parse_timeout
        return await parse_in(self.parse_pool, result.body, result.url, result.headers, deadline)


async def read_validators(result: FetchResult) -> Validators:
    """:meth:`Validators.of`, in a thread for big bodies (10 MiB take some 30 ms to hash)."""
    assert result.body is not None
    if len(result.body) > LARGE_BODY:
        return await asyncio.to_thread(Validators.of, result)
    return Validators.of(result)
