"""The configuration as frozen, validated objects.

Every model forbids unknown keys (a misspelt key is an error at its line, not a silently ignored
setting) and is immutable: a running daemon swaps a whole new ``Settings`` on reload, it never
patches one in place.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StrictStr,
    model_validator,
)

from monitor.config.units import parse_duration, parse_size

Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{value!r} is not an http(s) URL")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    return value


HttpURL = Annotated[StrictStr, AfterValidator(_http_url)]


def _backfill(value: object) -> float:
    if value == "all":
        return math.inf
    return parse_duration(value)


Backfill = Annotated[float, BeforeValidator(_backfill)]
Name = Annotated[StrictStr, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_bounds(model: Any) -> Any:
    low, high = model.min_interval, model.max_interval
    if low is not None and high is not None and low > high:
        raise ValueError("min_interval is longer than max_interval")
    return model


class Defaults(Model):
    """Settings every feed inherits unless it overrides them."""

    interval: Duration = 600.0
    adaptive: bool = False
    min_interval: Duration = 120.0
    max_interval: Duration = 3600.0
    max_backoff: Duration = 6 * 3600.0
    failing_after: int = Field(5, ge=1, le=1000)
    timeout: Duration = 30.0
    parse_timeout: Duration = 60.0
    parse_workers: int | None = Field(None, ge=1, le=64)
    parse_memory: Size | None = 1024 * 1024 * 1024
    max_body: Size = 10 * 1024 * 1024
    allow_private: bool = False
    first_sync: Literal["silent", "alert"] = "silent"
    backfill: Backfill | None = None
    concurrency: int = Field(16, ge=1, le=1024)
    per_host: int = Field(2, ge=1, le=64)
    deliveries: int = Field(8, ge=1, le=256)
    per_sink: int = Field(4, ge=1, le=64)
    jitter: float = Field(0.1, ge=0.0, le=0.5)
    user_agent: StrictStr | None = None
    language: StrictStr | None = None

    _bounds = model_validator(mode="after")(_check_bounds)


class FeedSpec(Model):
    url: HttpURL
    name: StrictStr | None = None
    tags: tuple[StrictStr, ...] = ()
    interval: Duration | None = None
    adaptive: bool | None = None
    min_interval: Duration | None = None
    max_interval: Duration | None = None
    timeout: Duration | None = None
    first_sync: Literal["silent", "alert"] | None = None
    backfill: Backfill | None = None
    language: StrictStr | None = None
    allow_private: bool | None = None

    _bounds = model_validator(mode="after")(_check_bounds)

    @property
    def label(self) -> str:
        return self.name or urlsplit(self.url).hostname or self.url


class RuleSpec(Model):
    id: Name
    name: StrictStr | None = None
    query: StrictStr
    exclude: StrictStr | None = None
    sinks: tuple[Name, ...] | None = None


class WebhookSinkSpec(Model):
    type: Literal["webhook"]
    url: HttpURL
    secret: SecretStr | None = None
    timeout: Duration = 15.0
    headers: Mapping[StrictStr, StrictStr] = Field(default_factory=dict)


class LogSinkSpec(Model):
    type: Literal["log"]


SinkSpec = Annotated[WebhookSinkSpec | LogSinkSpec, Field(discriminator="type")]


def default_state() -> str:
    """``$STATE_DIRECTORY/newsmon.db`` under systemd, else ``newsmon.db`` in the working dir."""
    directory = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return f"sqlite:///{os.path.join(directory, 'newsmon.db') if directory else 'newsmon.db'}"


class Settings(Model):
    """The whole configuration, after includes, interpolation and validation."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    state: StrictStr = Field(default_factory=default_state)
    node_id: StrictStr = Field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    defaults: Defaults = Defaults()
    feeds: tuple[FeedSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    sinks: Mapping[Name, SinkSpec] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_include(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k != "include"}
        return data

    @cached_property
    def feeds_by_url(self) -> dict[str, FeedSpec]:
        return {feed.url: feed for feed in self.feeds}

    def interval(self, feed: FeedSpec) -> float:
        return feed.interval if feed.interval is not None else self.defaults.interval

    def timeout(self, feed: FeedSpec) -> float:
        return feed.timeout if feed.timeout is not None else self.defaults.timeout

    def allow_private(self, feed: FeedSpec) -> bool:
        """Whether the feed may reach loopback and private addresses (off unless configured)."""
        if feed.allow_private is not None:
            return feed.allow_private
        return self.defaults.allow_private

    def interval_bounds(self, feed: FeedSpec) -> tuple[float, float]:
        """``(min_interval, max_interval)`` for a feed; a feed's own minimum above the default
        maximum raises that maximum rather than being an error."""
        defaults = self.defaults
        low = feed.min_interval if feed.min_interval is not None else defaults.min_interval
        high = feed.max_interval if feed.max_interval is not None else defaults.max_interval
        return low, max(low, high)

    def adaptive(self, feed: FeedSpec) -> bool:
        return feed.adaptive if feed.adaptive is not None else self.defaults.adaptive

    def backfill(self, feed: FeedSpec) -> float | None:
        """How far back a first sync alerts: None = silent, ``inf`` = everything."""
        first_sync = feed.first_sync or self.defaults.first_sync
        backfill = feed.backfill if feed.backfill is not None else self.defaults.backfill
        if feed.first_sync == "silent":
            return None
        if backfill is not None:
            return backfill
        return math.inf if first_sync == "alert" else None

    def language(self, feed: FeedSpec) -> str | None:
        return feed.language or self.defaults.language


def sink_names_for(rule: RuleSpec, settings: Settings) -> tuple[str, ...]:
    """The sinks a rule delivers to: its own list, or every sink when it names none."""
    return rule.sinks if rule.sinks is not None else tuple(settings.sinks)
