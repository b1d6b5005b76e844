"""The daemon: wiring, the clock, reloads and a graceful shutdown.

APScheduler 3.x (``AsyncIOScheduler``) is only the clock: a short ``poll`` tick claims due feeds
from the store, a ``deliver`` tick feeds each sink's lane (lanes also refill as deliveries finish),
and one cron job per digest sink cuts its digest. The schedule itself is data in the store, so one
process on SQLite and many on PostgreSQL run the same code, and a restart resumes where it stopped.

Shutdown (uvicorn's shape): signals only set a flag; intake stops; running work gets
``drain_timeout`` seconds; what is left is cancelled. Nothing is lost by cancelling: an update
commits in one transaction or not at all, and an unacknowledged alert stays in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor.app.endpoint import Endpoint
from monitor.app.metrics import Metrics
from monitor.app.systemd import notify, watchdog_interval
from monitor.base.clock import utcnow
from monitor.base.errors import ConfigError
from monitor.base.types import FeedForUpdate, PollStatus, UpdateResult
from monitor.config import LoadedConfig, Settings, load_config
from monitor.flow.digest import cut_digest, digest_trigger
from monitor.flow.dispatch import Dispatcher, sink_policies
from monitor.flow.pipeline import Pipeline
from monitor.flow.retention import prune
from monitor.stages.fetch import Fetcher, make_session
from monitor.stages.parse import ParsePool, Parser
from monitor.stages.sinks import build_sinks, sink_fingerprint
from monitor.stages.sinks.http import make_sink_session
from monitor.store import FeedSchedule, Store, StoryPolicy
from monitor.store.batch import PollRecorder

log = structlog.get_logger("newsmon")

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
# How long a claimed feed may wait for its host's turn (and then a global slot) before it is
# handed back unpolled; its lease covers this wait on top of the poll itself.
HOST_WAIT = 60.0
ONCE_LEASE = 3600.0
LEASE_MARGIN = 60.0


WATCH_INTERVAL = 0.5
# Settings a running daemon cannot change: its store, its node identity, its HTTP pool.
RESTART_SETTINGS = (
    "state",
    "node_id",
    "defaults.concurrency",
    "defaults.per_host",
    "defaults.user_agent",
    "http.listen",
)


def _setting(settings: Settings, dotted: str) -> object:
    value: object = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def config_signature(config: LoadedConfig) -> tuple[tuple[str, int, int, int], ...]:
    """What the config files look like on disk (path, mtime, size, inode): a change means edit.

    Polled on the clock rather than watched with inotify: a few stat() calls a second cost
    nothing, and polling also works on network filesystems and bind mounts.
    """
    paths = {str(p) for p in config.files}
    for pattern in config.include_patterns:
        paths.update(glob.glob(pattern))
    signature = []
    for path in sorted(paths):
        try:
            st = os.stat(path)
        except OSError:
            signature.append((path, -1, -1, -1))
            continue
        signature.append((path, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(signature)


def story_policy(settings: Settings) -> StoryPolicy:
    defaults = settings.defaults
    return StoryPolicy(timedelta(seconds=defaults.story_window), defaults.story_similarity)


def feed_schedules(settings: Settings) -> list[FeedSchedule]:
    return [FeedSchedule(f.url, f.name, settings.interval(f)) for f in settings.feeds]


@dataclass
class OnceSummary:
    """What ``run --once`` did: feed statuses and delivery outcomes."""

    feeds: Counter[str] = field(default_factory=Counter)
    new: int = 0
    alerts: int = 0
    deliveries: Counter[str] = field(default_factory=Counter)
    crashed: int = 0
    failing: int = 0

    @property
    def ok(self) -> bool:
        return self.crashed == 0


class Daemon:
    """Use as ``async with Daemon(config) as daemon:`` then ``run_once()`` or ``run(stop)``."""

    def __init__(
        self,
        config: LoadedConfig,
        *,
        config_path: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
        parse_pool: Parser | str | None = "pool",
        tick: float = 1.0,
        drain_timeout: float = 20.0,
        host_wait: float = HOST_WAIT,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.clock = clock
        self.tick = tick
        self.drain_timeout = drain_timeout
        self.host_wait = host_wait
        self.node = config.settings.node_id
        self._parse_pool_option = parse_pool
        self._feed_tasks: set[asyncio.Task[Any]] = set()
        self._waiting = 0  # feed tasks waiting for their host's turn or a global slot
        self._stack = contextlib.AsyncExitStack()
        self._scheduler: AsyncIOScheduler | None = None
        self._stopping = False
        self._watched: tuple[tuple[str, int, int, int], ...] = ()
        self._changed: tuple[tuple[str, int, int, int], ...] | None = None
        self.metrics = Metrics()
        self.endpoint: Endpoint | None = None
        self._ticked = False

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Daemon:
        settings = self.config.settings
        defaults = settings.defaults
        self.store = await Store.open(settings.state, self.clock, exclusive=True)
        self._stack.push_async_callback(self.store.close)
        self.store.story_policy = story_policy(settings)
        if self.store.single_node:
            await self.store.release_leases()  # we hold the lock: any lease is from a dead process
        await self.store.sync_feeds(feed_schedules(settings))
        session = make_session(
            concurrency=defaults.concurrency,
            per_host=defaults.per_host,
            user_agent=defaults.user_agent,
        )
        self._stack.push_async_callback(session.close)
        self._slots = asyncio.Semaphore(defaults.concurrency)  # feeds polled at once
        self.sink_session = make_sink_session()  # each sink's lane bounds its connections
        self._stack.push_async_callback(self.sink_session.close)
        pool = self._parse_pool_option
        if pool == "pool":
            owned = ParsePool(defaults.parse_workers, memory_limit=defaults.parse_memory)
            self._stack.push_async_callback(owned.close)
            pool = owned
        assert not isinstance(pool, str)
        self.recorder = PollRecorder(self.store, self.node)
        self._stack.push_async_callback(self.recorder.drain)
        self.pipeline = Pipeline(
            self.store,
            Fetcher(session, defaults.max_body, defaults.per_host),
            pool,
            self.node,
            on_alerts=self._alerts_created,
            recorder=self.recorder,
            metrics=self.metrics,
        )
        self.dispatcher = Dispatcher(
            self.store,
            build_sinks(settings.sinks, self.sink_session),
            self.node,
            per_sink=defaults.per_sink,
            jitter=defaults.jitter,
            retry_after_max=defaults.retry_after_max,
            policies=sink_policies(settings),
            metrics=self.metrics,
        )
        await self._sync_sinks(settings)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    @property
    def poll_budget(self) -> float:
        """The longest a poll can take: it fetches and parses twice (a page, then its feed)."""
        settings = self.config.settings
        longest = max([settings.timeout(f) for f in settings.feeds] or [settings.defaults.timeout])
        return 2 * (longest + settings.defaults.parse_timeout)

    @property
    def feed_lease(self) -> float:
        """Long enough to wait for the host's turn (at most ``host_wait``), then poll."""
        return self.host_wait + self.poll_budget + LEASE_MARGIN

    # --- one pass ------------------------------------------------------------------------------

    async def run_once(self) -> OnceSummary:
        """Poll every feed once, then deliver every alert that is due, and return a summary."""
        summary = OnceSummary()
        await self.cut_digests()
        lease = max(ONCE_LEASE, self.feed_lease)
        feeds = await self.store.claim_due_feeds(self.node, lease, 10**9, due_before=FAR_FUTURE)
        wait = lease - self.poll_budget - LEASE_MARGIN
        polls = (self._poll_in_turn(feed, wait) for feed in feeds)
        for result in await asyncio.gather(*polls, return_exceptions=True):
            if isinstance(result, BaseException):
                summary.crashed += 1
                continue
            summary.feeds[result.status] += 1
            summary.failing += result.failing
            summary.new += result.new
            summary.alerts += result.alerts
        summary.deliveries = await self.deliver_due()
        return summary

    async def deliver_due(self) -> Counter[str]:
        """Deliver alerts until none is due; failed ones are rescheduled into the future."""
        return await self.dispatcher.drain()

    async def cut_digests(self) -> int:
        """Cut every digest sink's digest whose time has come (catching up after downtime)."""
        total = 0
        for name in self._digest_sinks():
            total += await self._cut_digest(name)
        return total

    def _digest_sinks(self) -> list[str]:
        return [n for n, spec in self.config.settings.sinks.items() if spec.digest is not None]

    async def _cut_digest(self, name: str) -> int:
        settings = self.config.settings
        spec = settings.sinks.get(name)
        if spec is None or spec.digest is None:
            return 0
        try:
            return await cut_digest(
                self.store, name, digest_trigger(spec.digest, settings.timezone(spec))
            )
        except Exception:
            await log.aexception("digest.failed", sink=name)
            return 0

    async def _prune_job(self) -> None:
        try:
            await prune(self.store, self.config.settings)
        except Exception:
            await log.aexception("store.prune_failed")

    async def _digest_job(self, name: str) -> None:
        if await self._cut_digest(name):
            self.dispatcher.pump()

    async def _sync_sinks(self, settings: Settings) -> None:
        fingerprints = {name: sink_fingerprint(spec) for name, spec in settings.sinks.items()}
        sync = await self.store.sync_sinks(fingerprints)
        for name in sync.enabled:
            await log.ainfo("sink.enabled", sink=name, reason="its settings changed")
        for name in sync.disabled:
            state = await self.store.get_sink(name)
            reason = state["disabled_reason"] if state else None
            await log.awarning("sink.disabled", sink=name, reason=reason)
        if sync.orphaned:
            await log.awarning("alerts.orphaned", alerts=sync.orphaned)

    def _schedule_digests(self, scheduler: AsyncIOScheduler) -> None:
        for job in scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        settings = self.config.settings
        for name in self._digest_sinks():
            spec = settings.sinks[name]
            assert spec.digest is not None
            scheduler.add_job(
                self._digest_job,
                digest_trigger(spec.digest, settings.timezone(spec)),
                args=[name],
                id=f"digest:{name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    # --- the daemon ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and deliver on the clock until ``stop`` is set, then shut down gracefully."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        job_options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self._poll_tick,
            "interval",
            seconds=self.tick,
            id="poll",
            next_run_time=datetime.now(UTC),
            **job_options,
        )
        scheduler.add_job(
            self._deliver_tick,
            "interval",
            seconds=self.tick,
            id="deliver",
            next_run_time=datetime.now(UTC),
            **job_options,
        )
        self._schedule_digests(scheduler)
        scheduler.add_job(
            self._prune_job,
            CronTrigger(
                hour=3, minute=17, jitter=600, timezone=self.config.settings.defaults.timezone
            ),
            id="prune",
            **job_options,
        )
        interval = watchdog_interval()
        if interval:
            scheduler.add_job(
                notify,
                "interval",
                args=["WATCHDOG=1"],
                seconds=interval,
                id="watchdog",
                **job_options,
            )
        if self.config_path is not None:
            self._watched = config_signature(self.config)
            scheduler.add_job(
                self._watch_tick, "interval", seconds=WATCH_INTERVAL, id="watch", **job_options
            )
        self._scheduler = scheduler
        await self._serve()
        await self.cut_digests()  # one missed while the daemon was down goes out now
        scheduler.start()
        settings = self.config.settings
        notify("READY=1")
        notify(f"STATUS=polling {len(settings.feeds)} feeds")
        await log.ainfo(
            "newsmon.started",
            node=self.node,
            feeds=len(settings.feeds),
            rules=len(settings.rules),
            sinks=len(settings.sinks),
        )
        await stop.wait()
        await self.shutdown()

    @property
    def live(self) -> bool:
        """The clock runs (``/healthz``)."""
        return self._scheduler is not None and self._scheduler.running

    @property
    def readiness(self) -> str:
        """``ready`` once the store is open and the first poll tick ran (``/readyz``), else
        ``starting``; ``draining`` from SIGTERM on."""
        if self._stopping:
            return "draining"
        return "ready" if self._ticked else "starting"

    async def _serve(self) -> None:
        """Serve ``/healthz``, ``/readyz`` and ``/metrics`` when ``http.listen`` is set."""
        address = self.config.settings.http.address
        if address is None:
            return
        self.endpoint = Endpoint(
            address,
            self.metrics.registry,
            live=lambda: self.live,
            readiness=lambda: self.readiness,
            refresh=lambda: self.metrics.read_state(self.store, self.config.settings.sinks),
        )
        await self.endpoint.start()
        self._stack.push_async_callback(self.endpoint.stop)

    async def shutdown(self) -> None:
        """Stop intake, let running work finish for ``drain_timeout`` seconds, cancel the rest."""
        self._stopping = True
        notify("STOPPING=1")
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        self.dispatcher.stop()
        running = self._feed_tasks | self.dispatcher.tasks
        await log.ainfo("newsmon.stopping", running=len(running))
        started = time.monotonic()
        if running:
            _, pending = await asyncio.wait(running, timeout=self.drain_timeout)
            for task in pending:
                task.cancel(msg="shutdown deadline passed")
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                await log.awarning("newsmon.cancelled", tasks=len(pending))
        await log.ainfo("newsmon.stopped", drained_in=round(time.monotonic() - started, 2))

    async def _poll_tick(self) -> None:
        await self._claim_and_spawn(
            self._feed_tasks,
            # Feeds waiting for their host hold no global slot: they leave room for other hosts.
            self.config.settings.defaults.concurrency + self._waiting,
            lambda free: self.store.claim_due_feeds(self.node, self.feed_lease, free),
            lambda feed: self._poll_in_turn(feed, self.host_wait),
        )
        self._ticked = True

    async def _poll_in_turn(self, feed: FeedForUpdate, wait: float) -> UpdateResult:
        """Poll ``feed`` once its host has a free slot, and then the daemon a global one.

        Waiting for a busy host holds no global slot, so a slow host's feeds do not hold up the
        other hosts. Both waits together last at most ``wait`` seconds, which the lease leaves
        room for: a feed still waiting then is handed back unpolled, for a later tick.
        """
        async with contextlib.AsyncExitStack() as turn:
            self._waiting += 1
            try:
                async with asyncio.timeout(wait):
                    await turn.enter_async_context(self.pipeline.fetcher.host_turn(feed.fetch_url))
                    await turn.enter_async_context(self._slots)
            except TimeoutError:
                await self.store.release_feed(feed.id, self.node)
                await log.adebug("feed.deferred", feed=feed.url, waited=wait)
                return UpdateResult(feed.url, PollStatus.DEFERRED)
            finally:
                self._waiting -= 1
            return await self.pipeline.update_feed(feed, self.config)

    async def _deliver_tick(self) -> None:
        if not self._stopping:
            self.dispatcher.pump()

    async def _claim_and_spawn(
        self,
        tasks: set[asyncio.Task[Any]],
        capacity: int,
        claim: Callable[[int], Awaitable[list[Any]]],
        work: Callable[[Any], Coroutine[Any, Any, Any]],
    ) -> None:
        free = capacity - len(tasks)
        if self._stopping or free <= 0:
            return
        try:
            items = await claim(free)
        except Exception:
            await log.aexception("tick.failed")
            return
        for item in items:
            task = asyncio.create_task(work(item))
            tasks.add(task)
            task.add_done_callback(self._finished(tasks))

    def _finished(self, tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
        def done(task: asyncio.Task[Any]) -> None:
            tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("task.crashed", error=repr(task.exception()))

        return done

    def _alerts_created(self, count: int) -> None:
        """New outbox rows: feed the lanes now instead of at the next tick."""
        if self._scheduler is not None and self._scheduler.running and not self._stopping:
            self.dispatcher.pump()

    # --- reload --------------------------------------------------------------------------------

    async def _watch_tick(self) -> None:
        """Reload when a config file changed and then stayed the same for one more tick (an
        editor's truncate-then-write is not read half-way)."""
        current = config_signature(self.config)
        if current == self._watched:
            self._changed = None
        elif current == self._changed:
            self._watched, self._changed = current, None
            await self.reload()
        else:
            self._changed = current

    async def reload(self) -> bool:
        """Load the config file again; on any error keep running the last good config."""
        if self.config_path is None:
            return False
        seen = config_signature(self.config)  # what this attempt read, taken before reading
        try:
            new = await asyncio.to_thread(load_config, self.config_path)
        except ConfigError as e:
            # The file watcher need not try the same broken files again (a SIGHUP with an edit
            # would otherwise be rejected twice); the next edit is a change again.
            self._watched, self._changed = seen, None
            self.metrics.config_reloaded(ok=False)
            await log.aerror("config.rejected", problems=[str(p) for p in e.problems])
            return False
        old = self.config.settings
        for setting in RESTART_SETTINGS:
            if _setting(new.settings, setting) != _setting(old, setting):
                await log.awarning("config.restart_needed", setting=setting)
        await self.store.sync_feeds(feed_schedules(new.settings))
        await self._sync_sinks(new.settings)
        self.store.story_policy = story_policy(new.settings)
        self.dispatcher.configure(
            build_sinks(new.settings.sinks, self.sink_session), sink_policies(new.settings)
        )
        self.config = new
        self._watched = config_signature(new)
        for problem in new.warnings:
            await log.awarning("config.warning", problem=str(problem))
        if self._scheduler is not None and self._scheduler.running:
            self._schedule_digests(self._scheduler)
        self.metrics.config_reloaded(ok=True)
        await log.ainfo(
            "config.reloaded",
            feeds=len(new.settings.feeds),
            rules=len(new.settings.rules),
            sinks=len(new.settings.sinks),
        )
        return True
