"""Digests: a sink with ``digest: "0 8 * * *"`` gets one message of everything since the last one.

The cron expression and its time zone make an APScheduler ``CronTrigger``; the daemon runs one
cron job per digest sink. What a digest holds is decided by data, not by the job having run:
the store remembers when the sink's last digest was cut, and a cut takes every alert the sink
held up to the latest fire time that has passed. So a daemon that was down at 08:00 sends the
missed digest when it starts, ``run --once`` from cron sends it on its next run, and two nodes
firing together cut one digest (its id is derived from the sink and the fire time).
"""

from __future__ import annotations

import structlog
from apscheduler.triggers.cron import CronTrigger

from monitor.base.ids import digest_id
from monitor.stages.alerts import digest_payload
from monitor.stages.digests import latest_fire
from monitor.store import Store

log = structlog.get_logger("newsmon.digest")


async def cut_digest(store: Store, sink: str, trigger: CronTrigger) -> int:
    """Cut ``sink``'s digest if a fire time has passed since the last one; return its size."""
    state = await store.get_sink(sink)
    if state is None:  # a sink seen for the first time: its first digest covers from now on
        await store.ensure_sink(sink)
        return 0
    now = store.now()
    cut = latest_fire(trigger, state["last_digest_at"], now)
    if cut is None:
        return 0
    count = await store.collect_digest(
        sink, digest_id(sink, cut), cut, lambda digest: digest_payload(digest, now)
    )
    await log.ainfo("digest.cut", sink=sink, alerts=count, until=cut.isoformat())
    return count
