"""The clock: APScheduler 3.x jobs that start the daemon's work, never the work itself.

Due feeds are claimed by :meth:`~monitor.app.admission.Admission.keep_filled` as slots free
up, not here. A ``deliver`` tick feeds each sink's lane (lanes also refill as deliveries
finish), one cron job per digest sink cuts its digest, a nightly job prunes, a heartbeat
renews this node's leases, and when systemd asks for one, a watchdog ping; with a config file,
a ``watch`` tick looks for edits. The schedule of feeds is data in the store, not jobs here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor.app.reload import WATCH_INTERVAL
from monitor.app.systemd import notify, watchdog_interval
from monitor.base.settings import Settings
from monitor.stages.digests import digest_trigger

# One run at a time, a missed run is run once, however late.
JOB_OPTIONS: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
PRUNE_AT = {"hour": 3, "minute": 17, "jitter": 600}

Job = Callable[[], Awaitable[None]]


def make_scheduler(
    tick: float,
    *,
    deliver: Job,
    prune: Job,
    prune_timezone: str,
    watch: Job | None = None,
    heartbeat: tuple[Job, float] | None = None,
) -> AsyncIOScheduler:
    """The daemon's scheduler with its fixed jobs (digests are added by
    :func:`schedule_digests`, again at each reload)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    scheduler.add_job(
        deliver, "interval", seconds=tick, id="deliver", next_run_time=now, **JOB_OPTIONS
    )
    trigger = CronTrigger(**PRUNE_AT, timezone=prune_timezone)
    scheduler.add_job(prune, trigger, id="prune", **JOB_OPTIONS)
    interval = watchdog_interval()
    if interval:
        scheduler.add_job(
            notify, "interval", args=["WATCHDOG=1"], seconds=interval, id="watchdog", **JOB_OPTIONS
        )
    if watch is not None:
        scheduler.add_job(watch, "interval", seconds=WATCH_INTERVAL, id="watch", **JOB_OPTIONS)
    if heartbeat is not None:
        beat, every = heartbeat
        scheduler.add_job(beat, "interval", seconds=every, id="heartbeat", **JOB_OPTIONS)
    return scheduler


def digest_sinks(settings: Settings) -> list[str]:
    return [name for name, spec in settings.sinks.items() if spec.digest is not None]


def schedule_digests(
    scheduler: AsyncIOScheduler, settings: Settings, cut: Callable[[str], Awaitable[None]]
) -> None:
    """One cron job per digest sink, replacing those of the previous config."""
    for job in scheduler.get_jobs():
        if job.id.startswith("digest:"):
            job.remove()
    for name in digest_sinks(settings):
        spec = settings.sinks[name]
        assert spec.digest is not None
        scheduler.add_job(
            cut,
            digest_trigger(spec.digest, settings.timezone(spec)),
            args=[name],
            id=f"digest:{name}",
            **JOB_OPTIONS,
        )
