"""When a digest is cut: the latest fire time of the sink's cron that has passed. Pure.

The store remembers when a sink's last digest was cut; the next cut is the latest fire time
after it that has come, so a missed fire (the daemon was down) is caught up once, not once per
missed fire.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

MAX_STEPS = 100_000  # fire times walked to catch up (a minutely cron, down for two months)


def digest_trigger(cron: str, timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(cron, timezone=timezone)


def latest_fire(trigger: CronTrigger, after: datetime | None, now: datetime) -> datetime | None:
    """The latest fire time in ``(after, now]`` (UTC), or None if none has come yet."""
    start = (after or now) + timedelta(seconds=1)
    latest = None
    fire = trigger.get_next_fire_time(None, start)
    for _ in range(MAX_STEPS):
        if fire is None or fire > now:
            break
        latest = fire
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
    return latest.astimezone(UTC) if latest else None
