"""Retention applied: the configured ages handed to the store's pruning, and what went logged."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Protocol

import structlog

from monitor.base.settings import Settings

log = structlog.get_logger("newsmon.store")


class PruningStore(Protocol):
    async def prune(
        self,
        *,
        entries_after: timedelta,
        tombstones_after: timedelta,
        alerts_after: timedelta,
        counts_after: timedelta,
    ) -> dict[str, int]: ...


async def prune(store: PruningStore, settings: Settings) -> dict[str, int]:
    """Apply ``defaults.retention`` to the store, and log what went."""
    retention = settings.defaults.retention
    started = time.monotonic()
    counts = await store.prune(
        entries_after=timedelta(seconds=retention.entries),
        tombstones_after=timedelta(seconds=retention.tombstones),
        alerts_after=timedelta(seconds=retention.alerts),
        counts_after=timedelta(seconds=retention.counts),
    )
    await log.ainfo("store.pruned", ms=round((time.monotonic() - started) * 1000), **counts)
    return counts
