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


class PageEvents(Protocol):
    """Article pages: fetched (a body came back), extracted (it held the article), fallen
    back (by kind: refused, robots, timeout, http, too_large, no_article...)."""

    def page_fetched(self) -> None: ...

    def page_extracted(self) -> None: ...

    def page_fell_back(self, kind: str) -> None: ...


class DeliveryEvents(Protocol):
    def delivered(self, sink: str, outcome: DeliveryOutcome) -> None: ...

    def delivery_timer(self, sink: str) -> AbstractContextManager[Any]: ...


class Unobserved:
    """Events that go nowhere."""

    def feed_updated(self, result: UpdateResult, seconds: float) -> None:
        pass

    def feed_crashed(self, seconds: float) -> None:
        pass

    def page_fetched(self) -> None:
        pass

    def page_extracted(self) -> None:
        pass

    def page_fell_back(self, kind: str) -> None:
        pass

    def delivered(self, sink: str, outcome: DeliveryOutcome) -> None:
        pass

    def delivery_timer(self, sink: str) -> AbstractContextManager[Any]:
        return nullcontext()
