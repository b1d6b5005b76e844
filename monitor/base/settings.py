"""The configuration as frozen, validated objects, and each feed's settings resolved.

Every model forbids unknown keys (a misspelt key is an error at its line, not a silently ignored
setting) and is immutable: a running daemon swaps a whole new ``Settings`` on reload, it never
patches one in place. The value types are in :mod:`monitor.base.fields`, the sinks' models
in :mod:`monitor.base.sinkspecs`, what requests carry (headers, auth, proxy) in
:mod:`monitor.base.fetchspecs`, the store's upkeep in :mod:`monitor.base.storespecs`.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    ConfigDict,
    Field,
    StrictStr,
    model_validator,
)

from monitor.base.fetchspecs import FeedAuth, FeedURL, Headers, Proxy, has_header, request_options
from monitor.base.fields import (
    Backfill,
    Duration,
    FullTextMode,
    Model,
    Name,
    Size,
    TimeZone,
    check_bounds,
)
from monitor.base.listen import HttpSpec
from monitor.base.sinkspecs import (
    SINK_TYPES,
    AppriseSinkSpec,
    DiscordSinkSpec,
    EmailSinkSpec,
    LogSinkSpec,
    SinkBase,
    SinkSpec,
    SlackSinkSpec,
    TelegramSinkSpec,
    WebhookSinkSpec,
)
from monitor.base.storespecs import NodesSpec, RetentionSpec
from monitor.base.types import NO_OPTIONS, SAME_STORY, RequestOptions

# Seconds before attempts 2, 3, ... as Svix does: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
# (about 27.6 h in all, then the alert is dead).
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


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
    # Article pages for entries whose feed text is a teaser (auto), for every new entry, or never.
    full_text: FullTextMode = "auto"
    full_text_wait: Duration = Field(5.0, le=120.0)  # how long an alert waits for its page
    robots: bool = True  # article pages honour the site's robots.txt
    first_sync: Literal["silent", "alert"] = "silent"
    backfill: Backfill | None = None
    concurrency: int = Field(16, ge=1, le=1024)
    per_host: int = Field(2, ge=1, le=64)
    per_sink: int = Field(4, ge=1, le=64)
    jitter: float = Field(0.1, ge=0.0, le=0.5)
    user_agent: StrictStr | None = None
    headers: Headers = Field(default_factory=dict)
    proxy: Proxy | None = None
    no_proxy: tuple[StrictStr, ...] | None = None
    language: StrictStr | None = None
    retries: tuple[Duration, ...] = Field(RETRY_SCHEDULE, max_length=50)
    retry_after_max: Duration = 3600.0
    timezone: TimeZone = "UTC"
    # Copies of one story (same canonical link, or this similar a text within the window) are
    # one story: one alert per rule and sink, the others listed as "also reported by".
    story_window: Duration = Field(3 * 86400.0, ge=0)
    story_similarity: float = Field(SAME_STORY, ge=0.2, le=1.0)
    retention: RetentionSpec = RetentionSpec()

    _bounds = model_validator(mode="after")(check_bounds)


class FeedSpec(Model):
    url: FeedURL
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
    full_text: FullTextMode | None = None
    robots: bool | None = None
    user_agent: StrictStr | None = None
    headers: Headers = Field(default_factory=dict)
    auth: FeedAuth | None = None

    _bounds = model_validator(mode="after")(check_bounds)

    @model_validator(mode="after")
    def _one_authorization(self) -> FeedSpec:
        if self.auth is not None and has_header(self.headers, "Authorization"):
            raise ValueError("give either auth: or an Authorization header, not both")
        return self

    @property
    def label(self) -> str:
        return self.name or urlsplit(self.url).hostname or self.url


RuleField = Literal["title", "summary", "content", "text", "url", "source"]


class RuleSpec(Model):
    """A watch rule (RULES.md): a query string, or the structured all/any/none form."""

    id: Name
    name: StrictStr | None = None
    query: StrictStr | None = None
    all: tuple[StrictStr, ...] | None = None
    any: tuple[StrictStr, ...] | None = None
    none: tuple[StrictStr, ...] | None = None
    exclude: StrictStr | None = None
    fields: tuple[RuleField, ...] = ("title", "summary", "content")
    lang: tuple[StrictStr, ...] = ()
    sources: tuple[StrictStr, ...] = ()
    exclude_sources: tuple[StrictStr, ...] = ()
    sinks: tuple[Name, ...] | None = None
    # Alert again (``article.updated``, with a diff) when a story this rule alerted on is edited.
    notify_updates: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> RuleSpec:
        structured = any(x is not None for x in (self.all, self.any, self.none))
        if self.query is not None and structured:
            raise ValueError("give either query: or all:/any:/none:, not both")
        if self.query is None and not structured:
            raise ValueError("a rule needs query: (or all:/any:/none:)")
        return self

    @property
    def field_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for name in self.fields:
            names += ["title", "summary", "content"] if name == "text" else [name]
        return tuple(dict.fromkeys(names))


def default_node_id() -> str:
    """Stable across restarts: the host name and the state directory (systemd's
    ``$STATE_DIRECTORY``, else the working directory)."""
    directory = os.environ.get("STATE_DIRECTORY", "").split(":")[0] or os.getcwd()
    return f"{socket.gethostname()}:{directory}"


def default_state() -> str:
    """``$STATE_DIRECTORY/newsmon.db`` under systemd, else ``newsmon.db`` in the working dir."""
    directory = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return f"sqlite:///{os.path.join(directory, 'newsmon.db') if directory else 'newsmon.db'}"


class WordsSpec(Model):
    """Word families the algorithms get wrong, set right by the user (RULES.md):
    ``keep`` words are never stemmed (each finds itself and its inflections only), each
    ``join`` list is one family, and the words of a ``split`` list are never one family."""

    keep: tuple[StrictStr, ...] = ()
    join: tuple[tuple[StrictStr, ...], ...] = ()
    split: tuple[tuple[StrictStr, ...], ...] = ()


class Settings(Model):
    """The whole configuration, after includes, interpolation and validation."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    state: StrictStr = Field(default_factory=default_state)
    node_id: StrictStr = Field(default_factory=lambda: default_node_id())
    defaults: Defaults = Defaults()
    feeds: tuple[FeedSpec, ...] = ()
    groups: Mapping[Name, StrictStr] = Field(default_factory=dict)
    rules: tuple[RuleSpec, ...] = ()
    words: WordsSpec = WordsSpec()
    sinks: Mapping[Name, SinkSpec] = Field(default_factory=dict)
    http: HttpSpec = HttpSpec()
    nodes: NodesSpec = NodesSpec()

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

    def retries(self, sink: SinkBase) -> tuple[float, ...]:
        return sink.retries if sink.retries is not None else self.defaults.retries

    def concurrency(self, sink: SinkBase) -> int:
        return sink.concurrency or self.defaults.per_sink

    def timezone(self, sink: SinkBase) -> str:
        return sink.timezone or self.defaults.timezone


@dataclass(frozen=True)
class PollPolicy:
    """A feed's scheduling settings, from its config and the defaults."""

    interval: float
    min_interval: float
    max_interval: float
    adaptive: bool = False
    max_backoff: float = 6 * 3600.0
    jitter: float = 0.1
    failing_after: int = 5

    @property
    def longest(self) -> float:
        """The longest wait without failures: ``max_interval``, or a longer configured interval."""
        return max(self.max_interval, self.interval)


@dataclass(frozen=True)
class FeedPolicy:
    """Everything a poll of one feed needs from the config, resolved once when it loads.

    ``language`` is the feed's own setting (it wins over what the feed says); ``default_language``
    is the fallback when neither the feed nor its text decides. ``backfill`` is how far back a
    first sync alerts: None = silent, ``inf`` = everything. ``request`` is what each fetch for
    the feed adds (its headers, credentials and user agent), for its article pages too.
    """

    url: str
    label: str
    tags: tuple[str, ...]
    poll: PollPolicy
    timeout: float
    parse_timeout: float
    allow_private: bool
    backfill: float | None
    language: str | None
    default_language: str | None
    full_text: FullTextMode = "auto"
    robots: bool = True
    page_wait: float = 5.0
    request: RequestOptions = NO_OPTIONS

    @classmethod
    def resolve(cls, settings: Settings, spec: FeedSpec) -> FeedPolicy:
        defaults = settings.defaults
        low, high = settings.interval_bounds(spec)
        poll = PollPolicy(
            interval=settings.interval(spec),
            min_interval=low,
            max_interval=high,
            adaptive=settings.adaptive(spec),
            max_backoff=defaults.max_backoff,
            jitter=defaults.jitter,
            failing_after=defaults.failing_after,
        )
        return cls(
            url=spec.url,
            label=spec.label,
            tags=spec.tags,
            poll=poll,
            timeout=settings.timeout(spec),
            parse_timeout=defaults.parse_timeout,
            allow_private=settings.allow_private(spec),
            backfill=settings.backfill(spec),
            language=spec.language,
            default_language=defaults.language,
            full_text=spec.full_text or defaults.full_text,
            robots=defaults.robots if spec.robots is None else spec.robots,
            page_wait=defaults.full_text_wait,
            request=request_options(
                (defaults.headers, spec.headers), spec.auth, spec.user_agent or defaults.user_agent
            ),
        )


def feed_policies(settings: Settings) -> dict[str, FeedPolicy]:
    """Each configured feed's policy, by URL."""
    return {spec.url: FeedPolicy.resolve(settings, spec) for spec in settings.feeds}


def sink_names_for(rule: RuleSpec, settings: Settings) -> tuple[str, ...]:
    """The sinks a rule delivers to: its own list, or every sink when it names none."""
    return rule.sinks if rule.sinks is not None else tuple(settings.sinks)


__all__ = [
    "RETRY_SCHEDULE",
    "SAME_STORY",
    "SINK_TYPES",
    "AppriseSinkSpec",
    "Defaults",
    "DiscordSinkSpec",
    "EmailSinkSpec",
    "FeedPolicy",
    "FeedSpec",
    "LogSinkSpec",
    "PollPolicy",
    "RetentionSpec",
    "RuleSpec",
    "Settings",
    "SinkBase",
    "SinkSpec",
    "SlackSinkSpec",
    "TelegramSinkSpec",
    "WebhookSinkSpec",
    "feed_policies",
    "sink_names_for",
]
