"""The dispatcher: claimed outbox rows go to their sink; the row is marked only after the outcome.

At least once: a row is marked delivered only after the sink acknowledged it, so a crash between
the two re-sends it, with the same id. A failure schedules the next attempt from a Svix-like
table (about a day in all, jittered, configurable per sink), honouring a receiver's
``Retry-After`` up to a cap; when the table runs out the alert is dead: kept with its last error,
and replayable. A 410 Gone disables the sink: its alerts wait, visible, until it is enabled.

Each sink has its own lane: its own claims, its own concurrency and its own pace (``rate``), so
a sink that fails or hangs only ever holds its own lane; the others keep delivering. A digest
sink's lane claims only digests: its single alerts wait for the next digest to gather them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from monitor.base.clock import Clock
from monitor.base.errors import SinkError, SinkGone
from monitor.base.settings import RETRY_SCHEDULE
from monitor.base.types import Alert, AlertKind, DeliveryOutcome
from monitor.flow.events import DeliveryEvents, Unobserved
from monitor.stages.sinks import Sink
from monitor.stages.sinks.policy import SinkPolicy, next_attempt, sink_policies

log = structlog.get_logger("newsmon.dispatch")

__all__ = ["RETRY_SCHEDULE", "DispatchStore", "Dispatcher", "SinkPolicy", "sink_policies"]

ALERT_LEASE = 120.0


class DispatchStore(Protocol):
    """The slice of the store the dispatcher uses: the outbox."""

    now: Clock

    async def claim_alerts(
        self,
        node: str,
        lease: float,
        limit: int,
        *,
        sink: str | None = None,
        kinds: Collection[AlertKind] | None = None,
    ) -> list[Alert]: ...

    async def mark_delivered(self, alert_id: str) -> None: ...

    async def schedule_retry(
        self, alert_id: str, node: str, at: datetime, error: str, *, attempt: int | None = None
    ) -> None: ...

    async def mark_dead(
        self, alert_id: str, node: str, error: str, *, attempt: int | None = None
    ) -> None: ...

    async def disable_sink(self, name: str, reason: str, alert_id: str | None = None) -> bool: ...


@dataclass
class Lane:
    """One sink's deliveries in flight, and when its pace allows the next one."""

    name: str
    policy: SinkPolicy
    tasks: set[asyncio.Task[DeliveryOutcome]] = field(default_factory=set)
    claiming: bool = False
    next_slot: float = 0.0
    timer: asyncio.TimerHandle | None = None

    @property
    def free(self) -> int:
        return self.policy.concurrency - len(self.tasks)


@dataclass
class Dispatcher:
    """Delivers claimed alerts; ``per_sink``, ``schedule``, ``jitter`` and ``retry_after_max``
    make the policy of a sink that ``policies`` does not name."""

    store: DispatchStore
    sinks: Mapping[str, Sink]
    node: str
    per_sink: int = 4
    schedule: Sequence[float] = RETRY_SCHEDULE
    jitter: float = 0.1
    retry_after_max: float = 3600.0
    policies: Mapping[str, SinkPolicy] = field(default_factory=dict)
    lease: float = ALERT_LEASE
    rng: random.Random = field(default_factory=random.Random)
    events: DeliveryEvents = field(default_factory=Unobserved)
    _lanes: dict[str, Lane] = field(default_factory=dict)
    _claims: set[asyncio.Task[None]] = field(default_factory=set)
    _stopping: bool = False

    def policy(self, sink: str) -> SinkPolicy:
        return self.policies.get(sink) or SinkPolicy(
            self.per_sink,
            None,
            tuple(self.schedule),
            jitter=self.jitter,
            retry_after_max=self.retry_after_max,
        )

    def configure(self, sinks: Mapping[str, Sink], policies: Mapping[str, SinkPolicy]) -> None:
        """Take a reloaded config's sinks; deliveries in flight finish with the old ones."""
        self.sinks, self.policies = sinks, policies
        for name, lane in list(self._lanes.items()):
            if name in sinks:
                lane.policy = self.policy(name)
            elif not lane.tasks:
                del self._lanes[name]

    # --- one attempt ---------------------------------------------------------------------------

    async def deliver(self, alert: Alert) -> DeliveryOutcome:
        """Try ``alert`` once and settle its row with the outcome."""
        outcome = await self._attempt(alert)
        self.events.delivered(alert.sink, outcome)
        return outcome

    async def _attempt(self, alert: Alert) -> DeliveryOutcome:
        sink = self.sinks.get(alert.sink)
        bound = log.bind(
            alert=alert.id, sink=alert.sink, rule=alert.rule_id, attempt=alert.attempts
        )
        if sink is None:
            await self.store.mark_dead(
                alert.id,
                self.node,
                f"sink {alert.sink!r} is not configured",
                attempt=alert.attempts,
            )
            await bound.awarning("alert.dead", reason="sink not configured")
            return DeliveryOutcome.DEAD
        try:
            with self.events.delivery_timer(alert.sink):
                await sink.deliver(alert)
        except SinkGone as e:
            await self._disable(alert, str(e), bound)
            return DeliveryOutcome.DISABLED
        except SinkError as e:
            return await self._failed(alert, e, bound)
        except Exception as e:  # a bug in a sink must not strand the alert under its lease
            await bound.aexception("alert.crashed")
            return await self._failed(alert, SinkError(f"unexpected {type(e).__name__}"), bound)
        # Shielded: once the receiver has it, a shutdown must not lose the bookkeeping.
        await asyncio.shield(self.store.mark_delivered(alert.id))
        await bound.ainfo("alert.delivered", type=alert.kind)
        return DeliveryOutcome.DELIVERED

    async def _disable(
        self, alert: Alert, reason: str, bound: structlog.typing.FilteringBoundLogger
    ) -> None:
        """The receiver said 410 Gone: disable the sink. The one place a sink is disabled, so
        the event is logged once per disabling (and a metric counts it here), however many
        deliveries were in flight; the others' alerts are only held, pending, like the rest."""
        newly = await asyncio.shield(self.store.disable_sink(alert.sink, reason, alert.id))
        if newly:
            await bound.aerror("sink.disabled", reason=reason)
        else:
            await bound.ainfo("alert.held", reason="its sink is disabled")

    async def _failed(
        self, alert: Alert, error: SinkError, bound: structlog.typing.FilteringBoundLogger
    ) -> DeliveryOutcome:
        delay = next_attempt(self.policy(alert.sink), alert.attempts, error, self.rng)
        if delay is None:
            await asyncio.shield(
                self.store.mark_dead(alert.id, self.node, str(error), attempt=alert.attempts)
            )
            await bound.awarning("alert.dead", error=str(error))
            return DeliveryOutcome.DEAD
        at = self.store.now() + timedelta(seconds=delay)
        await asyncio.shield(
            self.store.schedule_retry(alert.id, self.node, at, str(error), attempt=alert.attempts)
        )
        await bound.awarning("alert.retry", error=str(error), retry_in=round(delay, 1))
        return DeliveryOutcome.RETRY

    # --- run --once: every lane until nothing is due ---------------------------------------------

    async def drain(self) -> Counter[DeliveryOutcome]:
        """Deliver until nothing is due, all lanes side by side; failures go into the future."""
        outcomes: Counter[DeliveryOutcome] = Counter()

        async def lane(name: str) -> None:
            policy = self.policy(name)
            batch = 1 if policy.rate else policy.concurrency
            while alerts := await self.store.claim_alerts(
                self.node, self.lease, batch, sink=name, kinds=policy.kinds
            ):
                if policy.rate:
                    await asyncio.sleep(self._reserve(self._lane(name)))
                for outcome in await asyncio.gather(*(self.deliver(a) for a in alerts)):
                    outcomes[outcome] += 1

        await asyncio.gather(*(lane(name) for name in self.sinks))
        return outcomes

    # --- the daemon: lanes fed as slots free up ------------------------------------------------

    @property
    def tasks(self) -> set[asyncio.Task[Any]]:
        """Claims and deliveries in flight (a shutdown drains them)."""
        running: set[asyncio.Task[Any]] = set(self._claims)
        for lane in self._lanes.values():
            running |= lane.tasks
        return running

    def stop(self) -> None:
        """Start no more claims; deliveries in flight go on until the daemon's drain deadline."""
        self._stopping = True
        for lane in self._lanes.values():
            if lane.timer is not None:
                lane.timer.cancel()

    def pump(self) -> None:
        """Claim for every lane that has a free slot (the tick, and new alerts, call this)."""
        for name in self.sinks:
            self._pump(self._lane(name))

    def _lane(self, name: str) -> Lane:
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = Lane(name, self.policy(name))
        return lane

    def _reserve(self, lane: Lane) -> float:
        """Take the lane's next paced slot; return how long to wait for it."""
        assert lane.policy.rate
        now = time.monotonic()
        slot = max(now, lane.next_slot)
        lane.next_slot = slot + 1 / lane.policy.rate
        return slot - now

    def _pump(self, lane: Lane) -> None:
        if self._stopping or lane.claiming or lane.free <= 0 or lane.name not in self.sinks:
            return
        want = lane.free
        if lane.policy.rate:
            wait = lane.next_slot - time.monotonic()
            if wait > 0:
                if lane.timer is None:
                    lane.timer = asyncio.get_running_loop().call_later(wait, self._wake, lane)
                return
            want = 1
        lane.claiming = True
        task = asyncio.create_task(self._claim(lane, want))
        self._claims.add(task)
        task.add_done_callback(self._claims.discard)

    def _wake(self, lane: Lane) -> None:
        lane.timer = None
        self._pump(lane)

    async def _claim(self, lane: Lane, want: int) -> None:
        try:
            alerts = await self.store.claim_alerts(
                self.node, self.lease, want, sink=lane.name, kinds=lane.policy.kinds
            )
        except Exception:
            await log.aexception("alert.claim_failed", sink=lane.name)
            return
        finally:
            lane.claiming = False
        if lane.policy.rate and alerts:
            self._reserve(lane)
        for alert in alerts:
            task = asyncio.create_task(self.deliver(alert))
            lane.tasks.add(task)
            task.add_done_callback(self._done(lane))
        if len(alerts) == want:
            self._pump(lane)  # a full claim: more may be due

    def _done(self, lane: Lane) -> Any:
        def done(task: asyncio.Task[DeliveryOutcome]) -> None:
            lane.tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("alert.task_crashed", sink=lane.name, error=repr(task.exception()))
            self._pump(lane)

        return done
