"""Where alerts go. A sink delivers one alert or raises :class:`SinkError`; the outbox retries.

A sink returns only once the receiver acknowledged the alert (a 2xx, an SMTP ``250``), because
returning is what marks the outbox row delivered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
from pydantic import SecretStr

from monitor.base.settings import (
    AppriseSinkSpec,
    DiscordSinkSpec,
    EmailSinkSpec,
    LogSinkSpec,
    SinkSpec,
    SlackSinkSpec,
    TelegramSinkSpec,
    WebhookSinkSpec,
)
from monitor.base.types import Alert
from monitor.stages.sinks.discord import DiscordSink
from monitor.stages.sinks.email import EmailSink
from monitor.stages.sinks.log import LogSink
from monitor.stages.sinks.slack import SlackSink
from monitor.stages.sinks.telegram import TelegramSink
from monitor.stages.sinks.webhook import WebhookSink


class Sink(Protocol):
    name: str

    async def deliver(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise SinkError; return only once the receiver acknowledged it."""
        ...


def build_sink(name: str, spec: SinkSpec, session: aiohttp.ClientSession) -> Sink:
    if isinstance(spec, WebhookSinkSpec):
        return WebhookSink(name, spec, session)
    if isinstance(spec, SlackSinkSpec):
        return SlackSink(name, spec, session)
    if isinstance(spec, DiscordSinkSpec):
        return DiscordSink(name, spec, session)
    if isinstance(spec, TelegramSinkSpec):
        return TelegramSink(name, spec, session)
    if isinstance(spec, EmailSinkSpec):
        return EmailSink(name, spec)
    if isinstance(spec, AppriseSinkSpec):
        from monitor.stages.sinks.apprise import (
            AppriseSink,  # optional extra: imported only when used
        )

        return AppriseSink(name, spec)
    assert isinstance(spec, LogSinkSpec)
    return LogSink(name)


# Settings that say how to send, not where: changing them does not re-enable a disabled sink.
_NOT_DESTINATION = frozenset(
    {"template", "digest_template", "subject", "title", "timeout", "concurrency", "rate"}
    | {"retries", "digest", "timezone", "headers", "silent", "username"}
)


def sink_fingerprint(spec: SinkSpec) -> str:
    """A hash of where a sink sends (URL, token, addresses): a change re-enables a 410'd sink."""

    def reveal(value: Any) -> Any:
        return value.get_secret_value() if isinstance(value, SecretStr) else str(value)

    where = {k: v for k, v in spec.model_dump().items() if k not in _NOT_DESTINATION}
    text = json.dumps(where, default=reveal, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def build_sinks(specs: Mapping[str, SinkSpec], session: aiohttp.ClientSession) -> dict[str, Sink]:
    return {name: build_sink(name, spec, session) for name, spec in specs.items()}


__all__ = [
    "DiscordSink",
    "EmailSink",
    "LogSink",
    "Sink",
    "SlackSink",
    "TelegramSink",
    "WebhookSink",
    "build_sink",
    "build_sinks",
    "sink_fingerprint",
]
