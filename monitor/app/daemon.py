"""The daemon: wiring the stages to the store, one pass (``run --once``), and the long run.

The parts have their own modules: :mod:`~monitor.app.jobs` (the clock: APScheduler jobs),
:mod:`~monitor.app.admission` (a host's turn and a global slot per poll),
:mod:`~monitor.app.reload` (noticing and reading config edits), :mod:`~monitor.app.lifecycle`
(signals), :mod:`~monitor.app.wiring` (what a pass builds from the config and reports). The
schedule is data in the store: one process on SQLite and many on PostgreSQL run the same code.

Shutdown (uvicorn's shape): signals only set a flag; intake stops; running work gets
``drain_timeout`` seconds; what is left is cancelled. Nothing is lost by cancelling: an update
commits in one transaction or not at all, and an unacknowledged alert stays in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app.admission import Admission
from monitor.app.jobs import digest_sinks, make_scheduler, schedule_digests
from monitor.app.metrics import Metrics
from monitor.app.nodes import Heartbeat
from monitor.app.reload import ConfigWatcher
from monitor.app.systemd import notify
from monitor.app.wiring import (
    OnceSummary,
    feed_schedules,
    report_progress,
    story_policy,
    sync_sinks,
)
from monitor.base.clock import Clock, utcnow
from monitor.base.types import DeliveryOutcome, FeedForUpdate, UpdateResult
from monitor.config import LoadedConfig
from monitor.flow.digest import cut_digest
from monitor.flow.dispatch import ALERT_LEASE, Dispatcher, sink_policies
from monitor.flow.owed import PageCompleter
from monitor.flow.pages import PageReader
from monitor.flow.pipeline import Pipeline
from monitor.flow.reader import FeedReader
from monitor.flow.retention import prune
from monitor.stages.digests import digest_trigger
from monitor.stages.fetch import Fetcher, make_session
from monitor.stages.parse import ParsePool, Parser
from monitor.stages.proxy import proxy_routes
from monitor.stages.sinks import build_sinks
from monitor.stages.sinks.http import make_sink_session
from monitor.store import Leases, Store
from monitor.store.batch import PollRecorder

log = structlog.get_logger("newsmon")

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
# How long a claimed feed may wait for its host's turn (and then a global slot) before it is
# handed back unpolled; its lease covers this wait on top of the poll itself.
HOST_WAIT = 60.0
ONCE_LEASE = 3600.0
LEASE_MARGIN = 60.0


class Daemon:
    """Use as ``async with Daemon(config) as daemon:`` then ``run_once()`` or ``run(stop)``."""

    def __init__(
        self,
        config: LoadedConfig,
        *,
        config_path: Path | None = None,
        clock: Clock = utcnow,
        parse_pool: Parser | str | None = "pool",
        tick: float = 1.0,
        drain_timeout: float = 20.0,
        host_wait: float = HOST_WAIT,
    ) -> None:
        self.config = config
        self.watcher = ConfigWatcher(config_path, config) if config_path is not None else None
        self.clock = clock
        self.tick = tick
        self.drain_timeout = drain_timeout
        self.host_wait = host_wait
        self.node = config.settings.node_id
        self._parse_pool_option = parse_pool
        self._stack = contextlib.AsyncExitStack()
        self._scheduler: AsyncIOScheduler | None = None
        self._budget: tuple[LoadedConfig, float] | None = None
        self._stopping = False
        self._ticked = False
        self._claimer: asyncio.Task[None] | None = None
        self.metrics = Metrics()
        self.endpoint: Any = None  # an Endpoint, with http.listen

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Daemon:
        """Open the store, sessions and parse workers; whatever fails on the way closes what
        was opened before it."""
        async with contextlib.AsyncExitStack() as stack:
            await self._open(stack)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        settings = self.config.settings
        defaults = settings.defaults
        self.store = await Store.open(settings.state, self.clock, exclusive=True)
        stack.push_async_callback(self.store.close)
        self.store.story_policy = story_policy(settings)
        if self.store.single_node:
            await self.store.release_leases()  # we hold the lock: any lease is from a dead process
        else:  # leases under our id now are our dead predecessor's: our heartbeat would renew them
            await self.store.leave(self.node)
        await self.store.sync_feeds(feed_schedules(self.config))
        limits = {k: getattr(defaults, k) for k in ("concurrency", "per_host", "user_agent")}
        session = make_session(**limits)
        stack.push_async_callback(session.close)
        self.sink_session = make_sink_session()  # each sink's lane bounds its connections
        stack.push_async_callback(self.sink_session.close)
        fetcher = Fetcher(session, defaults.max_body, defaults.per_host, proxy_routes(defaults))
        self.admission = Admission(
            defaults.concurrency,
            fetcher.host_turn,
            self._release,
            self.clock,
            self.metrics.poll_started,
        )
        self.recorder = PollRecorder(self.store, self.node)
        stack.push_async_callback(self.recorder.drain)
        reader = FeedReader(fetcher, self._parse_pool(stack))
        pool = reader.parse_pool if isinstance(reader.parse_pool, ParsePool) else None
        pages = PageReader(fetcher, pool, self.metrics)
        self.pipeline = Pipeline(
            self.store, reader, self.node, self.recorder, on_alerts=self._alerts_created,
            events=self.metrics, pages=pages,
        )  # fmt: skip
        self.pages = PageCompleter(
            self.store, pages, self.node, lambda: self.config, self._alerts_created
        )
        self.dispatcher = Dispatcher(
            self.store,
            build_sinks(settings.sinks, self.sink_session),
            self.node,
            per_sink=defaults.per_sink,
            jitter=defaults.jitter,
            retry_after_max=defaults.retry_after_max,
            policies=sink_policies(settings),
            lease=settings.nodes.lease or ALERT_LEASE,
            events=self.metrics,
        )
        await sync_sinks(self.store, settings)
        self.heartbeat = Heartbeat(
            self.store, settings, Leases(self.feed_lease, self.dispatcher.lease)
        )

    def _parse_pool(self, stack: contextlib.AsyncExitStack) -> Parser | None:
        pool = self._parse_pool_option
        if pool != "pool":
            assert not isinstance(pool, str)
            return pool
        defaults = self.config.settings.defaults
        owned = ParsePool(defaults.parse_workers, memory_limit=defaults.parse_memory)
        stack.push_async_callback(owned.close)
        return owned

    @property
    def poll_budget(self) -> float:
        """The longest a poll takes: two fetches and parses (a page, its feed), then its pages."""
        config, d = self.config, self.config.settings.defaults
        if self._budget is None or self._budget[0] is not config:  # the claim loop asks often
            longest = max([p.timeout for p in config.policies.values()] or [d.timeout])
            self._budget = (config, 2 * (longest + d.parse_timeout) + d.full_text_wait)
        return self._budget[1]

    @property
    def feed_lease(self) -> float:
        """``nodes.lease``, else long enough to wait for the host's turn (at most
        ``host_wait``), then poll."""
        return self.config.settings.nodes.lease or self.host_wait + self.poll_budget + LEASE_MARGIN

    # --- one pass ------------------------------------------------------------------------------

    async def run_once(self, progress: Callable[[int, int], None] | None = None) -> OnceSummary:
        """Poll every feed once, then deliver every alert that is due, and return a summary.
        ``progress(done, total)`` hears of each poll that ends (the command's progress bar)."""
        summary = OnceSummary()
        await self.cut_digests()
        lease = max(ONCE_LEASE, self.feed_lease)
        feeds = await self.store.claim_due_feeds(self.node, lease, 10**9, due_before=FAR_FUTURE)
        wait = lease - self.poll_budget - LEASE_MARGIN
        polls = [
            asyncio.ensure_future(self.admission.poll_in_turn(feed, wait, self._update))
            for feed in feeds
        ]
        if progress is not None:
            report_progress(polls, progress)
        summary.count(await asyncio.gather(*polls, return_exceptions=True))
        await self.pages.drain()  # the pages that did not come within their polls' wait
        summary.deliveries = await self.deliver_due()
        return summary

    async def deliver_due(self) -> Counter[DeliveryOutcome]:
        """Deliver alerts until none is due; failed ones are rescheduled into the future."""
        return await self.dispatcher.drain()

    async def cut_digests(self) -> int:
        """Cut every digest sink's digest whose time has come (catching up after downtime)."""
        total = 0
        for name in digest_sinks(self.config.settings):
            total += await self._cut_digest(name)
        return total

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

    async def _update(self, feed: FeedForUpdate) -> UpdateResult:
        return await self.pipeline.update_feed(feed, self.config)

    async def _release(self, feed: FeedForUpdate) -> None:
        await self.store.release_feed(feed.id, self.node)

    # --- the daemon ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and deliver on the clock until ``stop`` is set, then shut down gracefully."""
        settings = self.config.settings
        self._scheduler = make_scheduler(
            self.tick,
            deliver=self._deliver_tick,
            prune=self._prune_job,
            prune_timezone=settings.defaults.timezone,
            watch=self._watch_tick if self.watcher is not None else None,
            heartbeat=(self.heartbeat.beat, settings.nodes.heartbeat),
        )
        schedule_digests(self._scheduler, settings, self._digest_job)
        await self.heartbeat.beat()
        await self._serve()
        await self.cut_digests()  # one missed while the daemon was down goes out now
        self._scheduler.start()
        due, admission = self.store.next_due_at, self.admission
        claims = admission.keep_filled(self._poll_tick, due, self.clock, self.tick)
        self._claimer = asyncio.create_task(claims)
        notify("READY=1")
        notify(f"STATUS=polling {len(settings.feeds)} feeds")
        counts = {k: len(getattr(settings, k)) for k in ("feeds", "rules", "sinks")}
        await log.ainfo("newsmon.started", node=self.node, **counts)
        for problem in self.config.warnings:  # retired settings, as a reload reports them
            await log.awarning("config.warning", problem=str(problem))
        await stop.wait()
        await self.shutdown()

    @property
    def live(self) -> bool:
        """The clock runs (``/healthz``)."""
        return self._scheduler is not None and self._scheduler.running

    @property
    def readiness(self) -> str:
        """``ready`` once the store is open and the first poll tick ran (``/readyz``), else
        ``starting``; ``store unreachable`` while heartbeats fail; ``draining`` from SIGTERM on."""
        if self._stopping:
            return "draining"
        if self.heartbeat.store_down:
            return "store unreachable"
        return "ready" if self._ticked else "starting"

    async def _serve(self) -> None:
        """Serve the probes, ``/metrics`` and the dashboard when ``http.listen`` is set."""
        from monitor.app.web import dashboard_for

        if (address := self.config.settings.http.address) is None:
            return
        from monitor.app.endpoint import Endpoint  # aiohttp's server only when asked for

        self.endpoint = Endpoint(
            address,
            self.metrics.registry,
            live=lambda: self.live,
            readiness=lambda: self.readiness,
            refresh=lambda: self.metrics.read_state(self.store, self.config.settings.sinks),
            dashboard=dashboard_for(self.store, lambda: self.config),
        )
        await self.endpoint.start()
        self._stack.push_async_callback(self.endpoint.stop)

    async def shutdown(self) -> None:
        """Stop intake, let running work finish for ``drain_timeout`` seconds, cancel the rest."""
        self._stopping = True
        notify("STOPPING=1")
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        if self._claimer is not None:
            self._claimer.cancel()
            await asyncio.gather(self._claimer, return_exceptions=True)
        self.dispatcher.stop()
        running: set[asyncio.Task[Any]] = (
            set(self.admission.tasks) | self.dispatcher.tasks | self.pages.tasks
        )
        await log.ainfo("newsmon.stopping", running=len(running))
        started = time.monotonic()
        if running:
            _, pending = await asyncio.wait(running, timeout=self.drain_timeout)
            for task in pending:
                task.cancel(msg="shutdown deadline passed")
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                await log.awarning("newsmon.cancelled", tasks=len(pending))
        await self.heartbeat.leave()
        await log.ainfo("newsmon.stopped", drained_in=round(time.monotonic() - started, 2))

    # --- jobs ----------------------------------------------------------------------------------

    async def _poll_tick(self) -> None:
        if not self._stopping:
            await self.admission.claim_and_spawn(
                lambda room: self.store.claim_due_feeds(self.node, self.feed_lease, room),
                self.host_wait,
                self._update,
            )
        self._ticked = True

    async def _deliver_tick(self) -> None:
        if not self._stopping:
            self.dispatcher.pump()
            self.pages.pump()  # the article pages still owed, once a tick

    async def _digest_job(self, name: str) -> None:
        if await self._cut_digest(name):
            self.dispatcher.pump()

    async def _prune_job(self) -> None:
        try:
            await prune(self.store, self.config.settings)
        except Exception:
            await log.aexception("store.prune_failed")

    def _alerts_created(self, count: int) -> None:
        """New outbox rows: feed the lanes now instead of at the next tick."""
        if self._scheduler is not None and self._scheduler.running and not self._stopping:
            self.dispatcher.pump()

    # --- reload --------------------------------------------------------------------------------

    async def _watch_tick(self) -> None:
        assert self.watcher is not None
        if self.watcher.edited(self.config):
            await self.reload()

    async def reload(self) -> bool:
        """Load the config file again; on any error keep running the last good config."""
        if self.watcher is None:
            return False
        new = await self.watcher.load(self.config)
        if new is None:
            self.metrics.config_reloaded(ok=False)
            self.heartbeat.reloaded(ok=False, error="\n".join(self.watcher.rejected[:10]))
            return False
        await self.apply(new)
        self.metrics.config_reloaded(ok=True)
        self.heartbeat.reloaded(ok=True)
        await log.ainfo(
            "config.reloaded",
            feeds=len(new.settings.feeds),
            rules=len(new.settings.rules),
            sinks=len(new.settings.sinks),
        )
        return True

    async def apply(self, new: LoadedConfig) -> None:
        """Run on ``new`` from now on: its feeds, sinks, story settings and digests."""
        await self.store.sync_feeds(feed_schedules(new))
        await sync_sinks(self.store, new.settings)
        self.store.story_policy = story_policy(new.settings)
        self.heartbeat.configure(new.settings)
        self.dispatcher.configure(
            build_sinks(new.settings.sinks, self.sink_session), sink_policies(new.settings)
        )
        self.config = new
        if self._scheduler is not None and self._scheduler.running:
            schedule_digests(self._scheduler, new.settings, self._digest_job)
