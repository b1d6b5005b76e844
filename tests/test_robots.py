"""robots.txt for article pages, as RFC 9309 reads it, cached per origin."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from monitor.base.errors import FetchError, FetchTimeout, HTTPStatusError
from monitor.base.types import FetchResult
from monitor.stages.robots import (
    MAX_LIFETIME,
    MIN_LIFETIME,
    RobotsCache,
    answer_of,
)

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def _result(text: str, **headers: str) -> FetchResult:
    return FetchResult("http://127.0.0.1/robots.txt", 200, text.encode(), None, None, headers)


def test_rules_apply_to_newsmon_by_its_product_token_longest_match_first() -> None:
    answer = answer_of(
        _result(
            "User-agent: *\nDisallow: /\n\n"
            "User-agent: newsmon\nDisallow: /berita/\nAllow: /berita/publik/\n"
        ),
        None,
        NOW,
    )
    assert not answer.allows("http://127.0.0.1/berita/rahasia")
    assert answer.allows("http://127.0.0.1/berita/publik/a")
    assert answer.allows("http://127.0.0.1/lain")  # the newsmon group, not '*', applies


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_4xx_allows_everything(status: int) -> None:
    error = HTTPStatusError("http://127.0.0.1/robots.txt", status)
    answer = answer_of(None, error, NOW)
    assert answer.allows("http://127.0.0.1/anything")
    assert answer.expires - time.monotonic() > MAX_LIFETIME - 5


@pytest.mark.parametrize(
    "error",
    [
        HTTPStatusError("http://127.0.0.1/robots.txt", 503),
        FetchTimeout("http://127.0.0.1/robots.txt", "no complete response within 10s"),
        FetchError("http://127.0.0.1/robots.txt", "cannot connect"),
    ],
)
def test_a_5xx_or_no_answer_disallows_everything_for_now(error: FetchError) -> None:
    answer = answer_of(None, error, NOW)
    assert not answer.allows("http://127.0.0.1/anything")
    assert answer.reason is not None
    assert "treated as disallowed" in answer.reason
    assert answer.expires - time.monotonic() < 3600


def test_the_cache_lifetime_follows_the_headers_within_bounds() -> None:
    def lifetime(**headers: str) -> float:
        return answer_of(_result("", **headers), None, NOW).expires - time.monotonic()

    assert lifetime() == pytest.approx(MAX_LIFETIME, abs=5)
    assert lifetime(**{"cache-control": "max-age=3600"}) == pytest.approx(3600, abs=5)
    assert lifetime(**{"cache-control": "max-age=0"}) == pytest.approx(MIN_LIFETIME, abs=5)
    assert lifetime(**{"cache-control": "max-age=999999"}) == pytest.approx(MAX_LIFETIME, abs=5)


async def test_pages_of_one_site_share_one_fetch_and_its_answer() -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> FetchResult:
        fetched.append(url)
        await asyncio.sleep(0.05)
        return _result("User-agent: *\nDisallow: /private/\n")

    cache = RobotsCache(fetch, lambda: NOW)
    answers = await asyncio.gather(
        *(cache.check(f"http://127.0.0.1:8080/{p}") for p in ["a", "private/b", "c"] * 5)
    )
    assert fetched == ["http://127.0.0.1:8080/robots.txt"]
    assert answers.count(None) == 10
    assert await cache.check("http://127.0.0.1:8080/private/x") == "robots.txt disallows it"
    await cache.check("http://127.0.0.2:8080/a")  # another origin: its own robots.txt
    assert fetched[-1] == "http://127.0.0.2:8080/robots.txt"
