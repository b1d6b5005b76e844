"""What the pipeline and the dispatcher report as they go, as a small interface of their own.

:class:`monitor.app.metrics.Metrics` implements both protocols (Prometheus counters); the flow
modules never import it. :class:`Unobserved` counts nothing, for tools and tests that do not
need numbers.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from monitor.base.types import DeliveryOutcome, UpdateResult


class PollEvents(Protocol):
    def feed_updated(self, result: UpdateResult, seconds: float) -> None: ...

    def feed_crashed(self, seconds: float) -> None: ...


class DeliveryEvents(Protocol):
    def delivered(self, sink: str, outcome: DeliveryOutcome) -> None: ...

    def delivery_timer(self, sink: str) -> AbstractContextManager[Any]: ...


class Unobserved:
    """Events that go nowhere."""

    def feed_updated(self, result: UpdateResult, seconds: float) -> None:
        pass

    def feed_crashed(self, seconds: float) -> None:
        pass

    def delivered(self, sink: str, outcome: DeliveryOutcome) -> None:
        pass

    def delivery_timer(self, sink: str) -> AbstractContextManager[Any]:
        return nullcontext()
