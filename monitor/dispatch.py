"""The dispatcher: claimed outbox rows go to their sink; the row is marked only after the outcome.

At least once: a row is marked delivered only after the sink acknowledged it, so a crash between
the two re-sends it, with the same id. A failure schedules the next attempt from a Svix-like
table (about a day in all), honouring a receiver's ``Retry-After``; when the table runs out, or a
receiver says 410 Gone, the alert is dead: kept with its last error, and replayable.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from monitor.errors import SinkError
from monitor.sinks import Sink
from monitor.store import Store
from monitor.types import Alert

log = structlog.get_logger("newsmon.dispatch")

# Seconds before attempts 2, 3, ... as Svix does: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_RETRY_AFTER = 86400.0


@dataclass
class Dispatcher:
    store: Store
    sinks: Mapping[str, Sink]
    node: str
    per_sink: int = 4
    schedule: Sequence[float] = RETRY_SCHEDULE
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)
    _limits: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._limits = defaultdict(lambda: asyncio.Semaphore(self.per_sink))

    async def deliver(self, alert: Alert) -> str:
        """Try ``alert`` once; return ``delivered``, ``retry`` or ``dead``."""
        sink = self.sinks.get(alert.sink)
        bound = log.bind(
            alert=alert.id, sink=alert.sink, rule=alert.rule_id, attempt=alert.attempts
        )
        if sink is None:
            await self.store.mark_dead(alert.id, f"sink {alert.sink!r} is not configured")
            await bound.awarning("alert.dead", reason="sink not configured")
            return "dead"
        try:
            async with self._limits[alert.sink]:
                await sink.deliver(alert)
        except SinkError as e:
            return await self._failed(alert, e, bound)
        # Shielded: once the receiver has it, a shutdown must not lose the bookkeeping.
        await asyncio.shield(self.store.mark_delivered(alert.id))
        await bound.ainfo("alert.delivered")
        return "delivered"

    async def _failed(
        self, alert: Alert, error: SinkError, bound: structlog.typing.FilteringBoundLogger
    ) -> str:
        retry = alert.attempts - 1
        if error.permanent or retry >= len(self.schedule):
            await asyncio.shield(self.store.mark_dead(alert.id, str(error)))
            await bound.awarning("alert.dead", error=str(error))
            return "dead"
        delay = self.schedule[retry] * (1 + self.rng.uniform(-self.jitter, self.jitter))
        if error.retry_after is not None:
            delay = max(delay, min(error.retry_after, MAX_RETRY_AFTER))
        at = self.store.now() + timedelta(seconds=delay)
        await asyncio.shield(self.store.schedule_retry(alert.id, self.node, at, str(error)))
        await bound.awarning("alert.retry", error=str(error), retry_in=round(delay, 1))
        return "retry"
