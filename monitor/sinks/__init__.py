"""Where alerts go. A sink delivers one alert or raises :class:`SinkError`; the outbox retries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import aiohttp

from monitor.config.schema import LogSinkSpec, SinkSpec, WebhookSinkSpec
from monitor.sinks.log import LogSink
from monitor.sinks.webhook import WebhookSink
from monitor.types import Alert


class Sink(Protocol):
    name: str

    async def deliver(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise SinkError; return only once the receiver acknowledged it."""
        ...


def build_sinks(specs: Mapping[str, SinkSpec], session: aiohttp.ClientSession) -> dict[str, Sink]:
    sinks: dict[str, Sink] = {}
    for name, spec in specs.items():
        if isinstance(spec, WebhookSinkSpec):
            sinks[name] = WebhookSink(name, spec, session)
        elif isinstance(spec, LogSinkSpec):
            sinks[name] = LogSink(name)
    return sinks


__all__ = ["LogSink", "Sink", "WebhookSink", "build_sinks"]
