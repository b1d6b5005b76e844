"""When to poll a feed next: pure functions of the feed's policy and what it and its server said.

Polite and fresh at once (Miniflux's ``ScheduleNextCheck`` and Media Cloud's fetcher, see
research/performance.md):

* the base is the configured ``interval``, or with ``adaptive`` the feed's observed entry
  frequency clamped to ``[min_interval, max_interval]``; a feed silent for longer than its mean
  interval is observed as that silence, so a feed that goes quiet drifts towards
  ``max_interval`` even while every poll is a 304 and nothing is parsed;
* a publisher's hints (``<ttl>``, ``sy:updatePeriod``/``sy:updateFrequency``) and the server's
  caching headers (``Cache-Control: max-age``, ``Expires``) can only make the wait longer, and
  never past ``max_interval``;
* failures back off exponentially per feed (never per host: one broken path must not stall a
  host's other feeds) up to ``max_backoff``; a feed that has failed ``failing_after`` times in a
  row is retried at that cap, never given up on; a ``Retry-After`` is honoured up to the cap;
* jitter always, so that feeds added together do not stay in lock-step; it never brings a poll
  before a server's ``Retry-After``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.base.httpdate import parse_http_date
from monitor.base.settings import PollPolicy

MAX_BACKOFF = 6 * 3600.0
MIN_BACKOFF_BASE = 60.0
ADAPTIVE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class PollHints:
    """What the feed and its server said about their own rhythm; every field is in seconds."""

    entry_interval: float | None = None  # observed: the mean time between entries
    quiet_for: float | None = None  # observed: the time since the newest entry
    publisher_interval: float | None = None  # <ttl>, sy:updatePeriod / sy:updateFrequency
    cache_lifetime: float | None = None  # Cache-Control: max-age, Expires
    retry_after: float | None = None  # Retry-After on an error answer


def observed_interval(hints: PollHints) -> float | None:
    """The feed's interval as observed: the mean time between its entries, or the time since its
    newest one when that is longer (after a silence that long, the mean no longer describes it).
    """
    observed = [h for h in (hints.entry_interval, hints.quiet_for) if h is not None]
    return max(observed) if observed else None


def base_interval(policy: PollPolicy, hints: PollHints) -> float:
    """The interval before hints and jitter: configured, or adaptive within its bounds."""
    observed = observed_interval(hints)
    if not policy.adaptive or observed is None:
        return policy.interval
    low = min(policy.min_interval, policy.max_interval)
    return min(max(observed, low), policy.max_interval)


def next_poll_delay(
    policy: PollPolicy,
    failures: int = 0,
    hints: PollHints | None = None,
    *,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next poll; ``failures`` counts consecutive failures including this one."""
    hints = hints or PollHints()
    uniform = (rng or random).uniform
    if failures > 0:
        start = max(policy.interval, MIN_BACKOFF_BASE)
        cap = max(policy.max_backoff, policy.interval)
        delay = min(start * 2 ** min(failures - 1, 32), cap)
        if failures >= policy.failing_after:
            delay = cap  # failing: retried at the cap, never given up on
        if hints.retry_after is not None and hints.retry_after > delay:
            # Never earlier than the server asked, up to the cap; jitter only adds.
            return float(min(hints.retry_after, cap) * (1 + uniform(0, policy.jitter)))
        return float(delay * (1 + uniform(-policy.jitter, policy.jitter)))
    delay = base_interval(policy, hints)
    for hint in (hints.publisher_interval, hints.cache_lifetime):
        if hint is not None and hint > delay:
            delay = min(hint, policy.longest)
    return float(delay * (1 + uniform(-policy.jitter, policy.jitter)))


def entry_interval(published: Iterable[datetime | None], now: datetime) -> float | None:
    """Mean seconds between a feed's entries over the last week, from their own dates.

    It counts the dated entries of the last 7 days and spreads the time from the oldest of them
    until now over them, so a feed that went quiet drifts towards longer intervals. Entries'
    own dates are used rather than when newsmon first saw them: at the first sync every entry
    is "new", and Miniflux's frequency scheduler over-polls busy new feeds for that reason
    (miniflux/v2#2166). None when no entry of the last week has a date.
    """
    window_start = now - ADAPTIVE_WINDOW
    recent = [d for d in published if d is not None and window_start <= d <= now]
    if not recent:
        return None
    return max((now - min(recent)).total_seconds(), 1.0) / len(recent)


def quiet_for(published: Iterable[datetime | None], now: datetime) -> float | None:
    """Seconds since the newest of a feed's entries by their own dates (a date in the future is
    ignored); None when no entry has a date.

    :func:`entry_interval` is only computed when a body is parsed; this one also works from the
    newest date stored, so that polls answered with a 304 see the silence grow.
    """
    past = [d for d in published if d is not None and d <= now]
    if not past:
        return None
    return (now - max(past)).total_seconds()


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds a response stays fresh by ``Cache-Control: max-age`` (minus ``Age``) or
    ``Expires`` (against the server's ``Date`` when it sent one, to ignore clock skew)."""
    for directive in headers.get("cache-control", "").lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name == "max-age":
            try:
                max_age = float(value.strip().strip('"'))
            except ValueError:
                break
            try:
                age = float(headers.get("age", "0"))
            except ValueError:
                age = 0.0
            return max(0.0, max_age - age)
    expires = parse_http_date(headers.get("expires"))
    if expires is None:
        return None
    sent = parse_http_date(headers.get("date")) or now
    return max(0.0, (expires - sent).total_seconds())
