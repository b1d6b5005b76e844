"""How each sink is fed and retried: its lane, its pace, and when a failed alert is tried again.

Pure: :func:`next_attempt` decides from the attempt number, the sink's retry table and the
error; the dispatcher does what it says.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from monitor.base.errors import SinkError
from monitor.base.settings import RETRY_SCHEDULE, Settings
from monitor.base.types import AlertKind


@dataclass(frozen=True)
class SinkPolicy:
    """How one sink is fed: lane width, pace, retry schedule, and whether it sends digests."""

    concurrency: int = 4
    rate: float | None = None  # messages per second; None: as fast as the lane allows
    retries: tuple[float, ...] = RETRY_SCHEDULE
    digest: bool = False
    jitter: float = 0.1
    retry_after_max: float = 3600.0

    @property
    def kinds(self) -> tuple[AlertKind, ...] | None:
        """The alerts its lane claims: a digest sink's single alerts wait for the digest."""
        return (AlertKind.DIGEST,) if self.digest else None


def sink_policies(settings: Settings) -> dict[str, SinkPolicy]:
    defaults = settings.defaults
    return {
        name: SinkPolicy(
            concurrency=settings.concurrency(spec),
            rate=spec.rate,
            retries=settings.retries(spec),
            digest=spec.digest is not None,
            jitter=defaults.jitter,
            retry_after_max=defaults.retry_after_max,
        )
        for name, spec in settings.sinks.items()
    }


def next_attempt(
    policy: SinkPolicy, attempts: int, error: SinkError, rng: random.Random
) -> float | None:
    """Seconds until the next attempt after failed attempt number ``attempts`` (1 = the first),
    or None when the alert is dead: the error is permanent or the retry table ran out.

    The table's delay is jittered; a receiver's ``Retry-After`` can only lengthen it, up to
    ``retry_after_max``."""
    retry = attempts - 1
    if error.permanent or retry >= len(policy.retries):
        return None
    delay = policy.retries[retry] * (1 + rng.uniform(-policy.jitter, policy.jitter))
    if error.retry_after is not None:
        delay = max(delay, min(error.retry_after, policy.retry_after_max))
    return delay
