"""What the daemon builds from the config (story policy, feed schedules) and what it reports of
one pass (:class:`OnceSummary`, progress as polls end)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog

from monitor.base.settings import Settings
from monitor.base.types import DeliveryOutcome, PollStatus, UpdateResult
from monitor.config import LoadedConfig
from monitor.stages.sinks import sink_fingerprint
from monitor.store import FeedSchedule, Store, StoryPolicy

log = structlog.get_logger("newsmon")


def story_policy(settings: Settings) -> StoryPolicy:
    defaults = settings.defaults
    return StoryPolicy(timedelta(seconds=defaults.story_window), defaults.story_similarity)


def feed_schedules(config: LoadedConfig) -> list[FeedSchedule]:
    return [
        FeedSchedule(spec.url, spec.name, config.policies[spec.url].poll.interval, spec.tags)
        for spec in config.settings.feeds
    ]


@dataclass
class OnceSummary:
    """What ``run --once`` did: feed statuses and delivery outcomes."""

    feeds: Counter[PollStatus] = field(default_factory=Counter)
    new: int = 0
    alerts: int = 0
    deliveries: Counter[DeliveryOutcome] = field(default_factory=Counter)
    crashed: int = 0
    failing: int = 0

    @property
    def ok(self) -> bool:
        return self.crashed == 0

    def count(self, results: Sequence[UpdateResult | BaseException]) -> None:
        """Add the polls' results (an exception: a poll that crashed)."""
        for result in results:
            if isinstance(result, BaseException):
                self.crashed += 1
                continue
            self.feeds[result.status] += 1
            self.failing += result.failing
            self.new += result.new
            self.alerts += result.alerts


def report_progress(
    tasks: Sequence[asyncio.Future[Any]], progress: Callable[[int, int], None]
) -> None:
    """``progress(done, total)`` now, and each time one of ``tasks`` ends."""
    ended = Counter[str]()
    progress(0, len(tasks))

    def one(_: asyncio.Future[Any]) -> None:
        ended["done"] += 1
        progress(ended["done"], len(tasks))

    for task in tasks:
        task.add_done_callback(one)


async def sync_sinks(store: Store, settings: Settings) -> None:
    """Tell the store the configured sinks; log the ones enabled or disabled by the change."""
    fingerprints = {name: sink_fingerprint(spec) for name, spec in settings.sinks.items()}
    sync = await store.sync_sinks(fingerprints)
    for name in sync.enabled:
        await log.ainfo("sink.enabled", sink=name, reason="its settings changed")
    for name in sync.disabled:
        state = await store.get_sink(name)
        reason = state["disabled_reason"] if state else None
        await log.awarning("sink.disabled", sink=name, reason=reason)
    if sync.orphaned:
        await log.awarning("alerts.orphaned", alerts=sync.orphaned)
