"""Prometheus metrics (``prometheus_client``): counters where events happen, state from the store.

Each daemon owns a private ``CollectorRegistry``, never the library's global one, so that tests
and several daemons in one process keep their numbers apart. What is exposed:

=====================================  =========  =================================================
``newsmon_feed_polls_total``           counter    feed polls by ``status`` (every
                                                  :class:`~monitor.base.types.PollStatus`)
``newsmon_poll_duration_seconds``      histogram  one poll: fetch, parse, decide, record
``newsmon_entries_total``              counter    entries recorded, by ``change`` (new, updated)
``newsmon_alerts_created_total``       counter    outbox rows created (one per sink and alert)
``newsmon_deliveries_total``           counter    attempts by ``sink`` and ``outcome``
                                                  (delivered, retry, dead, disabled)
``newsmon_delivery_duration_seconds``  histogram  how long a sink took to accept or refuse
``newsmon_config_reloads_total``       counter    reloads by ``result`` (ok, rejected)
``newsmon_feeds``                      gauge      configured feeds by ``state`` (ok, warning,
                                                  error, failing, disabled, never_polled)
``newsmon_outbox_alerts``              gauge      alerts by ``sink`` and ``state`` (pending, dead)
``newsmon_build_info``                 info       ``version``
=====================================  =========  =================================================

Counters and histograms count what this process did. The two gauges are read from the store,
which several nodes on PostgreSQL share: each node reports the same numbers (aggregate them with
``max``, not ``sum``). They are read when scraped, at most once per :data:`STATE_TTL`: two grouped
counts over indexed columns, cheap even with 10,000 feeds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from monitor import __version__
from monitor.base.types import AlertState, DeliveryOutcome, FeedState, PollStatus, UpdateResult
from monitor.store import Store

log = structlog.get_logger("newsmon.metrics")

POLL_STATUSES = tuple(PollStatus)
# Only configured feeds are counted: a removed feed is in no state here.
FEED_STATES = tuple(s for s in FeedState if s is not FeedState.REMOVED)
OUTBOX_STATES = (AlertState.PENDING, AlertState.DEAD)
OUTCOMES = tuple(DeliveryOutcome)
# A poll may take up to its fetch timeout (30 s) plus a parse; a sink answers within 15 s.
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
STATE_TTL = 2.0  # seconds one read of the store serves scrapes
STATE_TIMEOUT = 5.0  # a scrape does not wait longer for the store: it serves the last values


class Metrics:
    """The daemon's metrics in their own registry, with one method per event that counts."""

    def __init__(self, state_ttl: float = STATE_TTL) -> None:
        self.registry = CollectorRegistry()
        self._register_events()
        self._register_state()
        Info("newsmon_build", "The running newsmon.", registry=self.registry).info(
            {"version": __version__}
        )
        self._start_at_zero()
        self.state_ttl = state_ttl
        self._state_at = -state_ttl
        self._state_lock = asyncio.Lock()

    def _register_events(self) -> None:
        """The counters and histograms of what this process does."""
        registry = self.registry
        self.polls = Counter(
            "newsmon_feed_polls", "Feed polls by status.", ["status"], registry=registry
        )
        self.poll_seconds = Histogram(
            "newsmon_poll_duration_seconds",
            "Time one feed poll took: fetch, parse, decide and record.",
            buckets=POLL_BUCKETS,
            registry=registry,
        )
        self.entries = Counter(
            "newsmon_entries", "Entries recorded, by change.", ["change"], registry=registry
        )
        self.alerts = Counter(
            "newsmon_alerts_created",
            "Alerts put in the outbox (one per sink and matched entry).",
            registry=registry,
        )
        self.deliveries = Counter(
            "newsmon_deliveries",
            "Delivery attempts by sink and outcome.",
            ["sink", "outcome"],
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "newsmon_delivery_duration_seconds",
            "Time a sink took to accept or refuse one alert.",
            ["sink"],
            buckets=DELIVERY_BUCKETS,
            registry=registry,
        )
        self.poll_lag = Histogram(
            "newsmon_poll_lag_seconds",
            "How late a poll started: from its due time to a slot for it.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.reloads = Counter(
            "newsmon_config_reloads", "Config reloads by result.", ["result"], registry=registry
        )
        self.pages = Counter(
            "newsmon_pages",
            "Article pages: fetched, extracted, fell_back (the entry kept the feed's text), "
            "refused (by the address guard or robots.txt, also counted as fell_back).",
            ["result"],
            registry=registry,
        )
        self.page_fallbacks = Counter(
            "newsmon_page_fallbacks",
            "Article pages fallen back, by kind.",
            ["kind"],
            registry=registry,
        )

    def _register_state(self) -> None:
        """The gauges read from the store."""
        self.feeds = Gauge(
            "newsmon_feeds",
            "Configured feeds by state (from the store).",
            ["state"],
            registry=self.registry,
        )
        self.outbox = Gauge(
            "newsmon_outbox_alerts",
            "Alerts waiting for delivery (pending) or given up (dead), by sink (from the store).",
            ["sink", "state"],
            registry=self.registry,
        )

    def _start_at_zero(self) -> None:
        """Known label values start at 0, so that rate() and alerts see the first event."""
        for status in POLL_STATUSES:
            self.polls.labels(status)
        for change in ("new", "updated"):
            self.entries.labels(change)
        for result in ("ok", "rejected"):
            self.reloads.labels(result)
        for result in ("fetched", "extracted", "fell_back", "refused"):
            self.pages.labels(result)

    # --- events --------------------------------------------------------------------------------

    def feed_updated(self, result: UpdateResult, seconds: float) -> None:
        self.polls.labels(result.status).inc()
        self.poll_seconds.observe(seconds)
        self.entries.labels("new").inc(result.new)
        self.entries.labels("updated").inc(result.updated)
        self.alerts.inc(result.alerts)

    def poll_started(self, lag: float) -> None:
        self.poll_lag.observe(max(lag, 0.0))

    def feed_crashed(self, seconds: float) -> None:
        self.polls.labels(PollStatus.CRITICAL).inc()
        self.poll_seconds.observe(seconds)

    def page_fetched(self) -> None:
        self.pages.labels("fetched").inc()

    def page_extracted(self) -> None:
        self.pages.labels("extracted").inc()

    def page_fell_back(self, kind: str) -> None:
        self.pages.labels("fell_back").inc()
        self.page_fallbacks.labels(kind).inc()
        if kind in ("refused", "robots"):
            self.pages.labels("refused").inc()

    def delivered(self, sink: str, outcome: DeliveryOutcome) -> None:
        self.deliveries.labels(sink, outcome).inc()

    def delivery_timer(self, sink: str) -> AbstractContextManager[Any]:
        """Times the ``with`` block into the sink's delivery histogram, whatever its outcome."""
        return self.delivery_seconds.labels(sink).time()

    def config_reloaded(self, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "rejected").inc()

    # --- state, from the store -----------------------------------------------------------------

    async def read_state(self, store: Store, sinks: Iterable[str]) -> None:
        """Set the gauges from the store, unless it was read less than ``state_ttl`` ago."""
        async with self._state_lock:  # scrapes at once share one read
            if time.monotonic() - self._state_at < self.state_ttl:
                return
            try:
                async with asyncio.timeout(STATE_TIMEOUT):
                    tally = await store.tally_state()
            except Exception as e:
                await log.awarning("metrics.state_failed", error=repr(e))
                return
            self._state_at = time.monotonic()
        for feed_state in FEED_STATES:
            self.feeds.labels(feed_state).set(tally.feeds.get(feed_state, 0))
        self.outbox.clear()
        for sink in sinks:
            for alert_state in OUTBOX_STATES:
                self.outbox.labels(sink, alert_state).set(0)
            for outcome in OUTCOMES:
                self.deliveries.labels(sink, outcome)  # a configured sink's series start at 0
        for (sink, state), count in tally.outbox.items():
            self.outbox.labels(sink, state).set(count)
