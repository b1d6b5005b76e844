"""When to poll a feed next: its interval with jitter, or an exponential backoff after failures.

Backoff is per feed, never per host: one broken path must not stall a host's other feeds.
"""

from __future__ import annotations

import random

MAX_BACKOFF = 6 * 3600.0


def next_poll_delay(
    interval: float,
    failures: int,
    *,
    jitter: float = 0.1,
    rng: random.Random | None = None,
    max_backoff: float = MAX_BACKOFF,
) -> float:
    """Seconds until the next poll; ``failures`` counts consecutive failures including this one."""
    uniform = (rng or random).uniform
    delay = interval
    if failures > 0:
        delay = min(max(interval, 60.0) * 2 ** min(failures - 1, 16), max(max_backoff, interval))
    return delay * (1 + uniform(-jitter, jitter))
