"""When a feed is polled next, as tables: pure functions, a seeded random generator, no clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.base.httpdate import parse_retry_after
from monitor.base.settings import PollPolicy
from monitor.stages.rhythm import publisher_interval
from monitor.stages.schedule import (
    PollHints,
    cache_lifetime,
    entry_interval,
    next_poll_delay,
    quiet_for,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
H = 3600.0
POLICY = PollPolicy(interval=600, min_interval=120, max_interval=H, max_backoff=6 * H)
ADAPTIVE = PollPolicy(interval=600, min_interval=120, max_interval=H, adaptive=True)


def delays(policy: PollPolicy, failures: int = 0, **hints: float) -> list[float]:
    rng = random.Random(7)
    return [next_poll_delay(policy, failures, PollHints(**hints), rng=rng) for _ in range(300)]


@pytest.mark.parametrize(
    ("policy", "failures", "hints", "expected"),
    [
        # the configured interval
        (POLICY, 0, {}, 600),
        # adaptive: the observed entry interval, clamped to [min_interval, max_interval]
        (ADAPTIVE, 0, {"entry_interval": 900}, 900),
        (ADAPTIVE, 0, {"entry_interval": 30}, 120),
        (ADAPTIVE, 0, {"entry_interval": 86400}, H),
        (ADAPTIVE, 0, {}, 600),  # nothing observed yet: the configured interval
        (POLICY, 0, {"entry_interval": 30}, 600),  # not adaptive: observation ignored
        # a silence longer than the mean interval is the observed interval: a feed that goes
        # quiet drifts to max_interval, though nothing was parsed since (304s, the same bytes)
        (ADAPTIVE, 0, {"entry_interval": 300, "quiet_for": 200}, 300),
        (ADAPTIVE, 0, {"entry_interval": 300, "quiet_for": 1800}, 1800),
        (ADAPTIVE, 0, {"entry_interval": 300, "quiet_for": 10 * 86400}, H),
        (ADAPTIVE, 0, {"quiet_for": 8 * 86400}, H),  # nothing within the week, but dated
        (ADAPTIVE, 0, {"entry_interval": 30, "quiet_for": 60}, 120),  # still clamped
        (POLICY, 0, {"entry_interval": 300, "quiet_for": 10 * 86400}, 600),
        # publisher and cache hints only lengthen, and never past max_interval
        (POLICY, 0, {"publisher_interval": 1800}, 1800),
        (POLICY, 0, {"publisher_interval": 60}, 600),
        (POLICY, 0, {"publisher_interval": 86400}, H),
        (POLICY, 0, {"cache_lifetime": 1200}, 1200),
        (POLICY, 0, {"cache_lifetime": 10**7}, H),
        (POLICY, 0, {"cache_lifetime": 1200, "publisher_interval": 2400}, 2400),
        (ADAPTIVE, 0, {"entry_interval": 30, "cache_lifetime": 300}, 300),
        # a configured interval longer than max_interval is not cut
        (PollPolicy(interval=2 * H, min_interval=120, max_interval=H), 0, {}, 2 * H),
        # failures: exponential from the interval (at least 60 s), capped at max_backoff
        (POLICY, 1, {}, 600),
        (POLICY, 2, {}, 1200),
        (POLICY, 3, {}, 2400),
        (POLICY, 4, {}, 4800),
        (POLICY, 5, {}, 6 * H),  # failing (failing_after=5): straight to the cap
        (POLICY, 50, {}, 6 * H),
        (PollPolicy(interval=10, min_interval=5, max_interval=60), 2, {}, 120),
        # the interval is never cut by the backoff cap
        (PollPolicy(interval=12 * H, min_interval=60, max_interval=H), 3, {}, 12 * H),
        # hints do not apply to failures, except Retry-After
        (POLICY, 1, {"cache_lifetime": 3000}, 600),
    ],
)
def test_next_poll_delay_without_jitter(
    policy: PollPolicy, failures: int, hints: dict[str, float], expected: float
) -> None:
    quiet = PollPolicy(**{**policy.__dict__, "jitter": 0.0})
    assert next_poll_delay(quiet, failures, PollHints(**hints)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("retry_after", "failures", "expected"),
    [
        (1800, 1, 1800),  # longer than the backoff: honoured
        (10, 3, 2400),  # shorter than the backoff: the backoff stands
        (10**6, 1, 6 * H),  # capped at max_backoff
    ],
)
def test_retry_after_is_honoured_up_to_the_cap(
    retry_after: float, failures: int, expected: float
) -> None:
    quiet = PollPolicy(interval=600, min_interval=120, max_interval=H, jitter=0.0)
    hints = PollHints(retry_after=retry_after)
    assert next_poll_delay(quiet, failures, hints) == pytest.approx(expected)


def test_jitter_is_always_applied_and_bounded() -> None:
    for failures, hints in ((0, {}), (2, {}), (9, {}), (0, {"cache_lifetime": 1800.0})):
        spread = delays(POLICY, failures, **hints)
        base = next_poll_delay(
            PollPolicy(**{**POLICY.__dict__, "jitter": 0.0}), failures, PollHints(**hints)
        )
        assert min(spread) >= base * 0.9
        assert max(spread) <= base * 1.1
        assert len(set(spread)) > 250


def test_jitter_never_brings_a_poll_before_retry_after() -> None:
    spread = delays(POLICY, 1, retry_after=3000)
    assert min(spread) >= 3000
    assert max(spread) <= 3300


@pytest.mark.parametrize(
    ("ages_in_hours", "expected"),
    [
        ([1, 2, 3, 4], 4 * H / 4),  # four entries over the last four hours: one an hour
        ([0.1] * 20, 0.1 * H / 20),  # a burst: a short interval (then clamped by policy)
        ([24 * 6.5], 24 * 6.5 * H),  # one entry in a week: its age
        ([24 * 8, 24 * 9], None),  # nothing within the week
        ([], None),
        ([-5, 1], 1 * H),  # a date in the future is ignored
    ],
)
def test_entry_interval_from_the_entries_own_dates(
    ages_in_hours: list[float], expected: float | None
) -> None:
    dates = [NOW - timedelta(hours=h) for h in ages_in_hours]
    assert entry_interval([*dates, None], NOW) == (
        pytest.approx(expected) if expected is not None else None
    )


@pytest.mark.parametrize(
    ("ages_in_hours", "expected"),
    [
        ([1, 2, 3], 1 * H),  # the newest
        ([240], 240 * H),  # ten days: older than the week entry_interval looks at
        ([-5, 2], 2 * H),  # a date in the future is ignored
        ([-5], None),
        ([], None),
    ],
)
def test_quiet_for_is_the_time_since_the_newest_dated_entry(
    ages_in_hours: list[float], expected: float | None
) -> None:
    dates = [NOW - timedelta(hours=h) for h in ages_in_hours]
    assert quiet_for([*dates, None], NOW) == expected


@pytest.mark.parametrize(
    ("ttl", "period", "frequency", "expected"),
    [
        ("30", None, None, 1800),
        (None, "hourly", "2", 1800),
        (None, "daily", None, 86400),
        (None, "Weekly ", "7", 86400),
        ("60", "hourly", "4", 3600),  # both: the longer
        ("0", None, None, None),
        ("soon", "fortnightly", "x", None),
        (None, "hourly", "0", 3600),
        (None, None, None, None),
    ],
)
def test_publisher_interval_from_ttl_and_syndication(
    ttl: str | None, period: str | None, frequency: str | None, expected: float | None
) -> None:
    assert publisher_interval(ttl, period, frequency) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": "public, max-age=600"}, 600),
        ({"cache-control": "max-age=600", "age": "100"}, 500),
        ({"cache-control": 'max-age="60"'}, 60),
        ({"cache-control": "no-cache"}, None),
        ({"cache-control": "max-age=abc"}, None),
        (
            {"expires": "Wed, 25 Nov 2026 13:00:00 GMT", "date": "Wed, 25 Nov 2026 12:30:00 GMT"},
            1800,
        ),
        ({"expires": "Wed, 25 Nov 2026 12:20:00 GMT"}, 1200),  # no Date: our clock
        ({"expires": "0"}, None),
        ({"expires": "Wed, 25 Nov 2026 11:00:00 GMT"}, 0),
        ({"cache-control": "max-age=60", "expires": "Wed, 25 Nov 2026 18:00:00 GMT"}, 60),
        ({}, None),
    ],
)
def test_cache_lifetime_from_headers(headers: dict[str, str], expected: float | None) -> None:
    assert cache_lifetime(headers, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("Wed, 25 Nov 2026 12:05:00 GMT", 300.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after_takes_seconds_or_an_http_date(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value, NOW) == expected
