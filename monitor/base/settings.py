"""The configuration as frozen, validated objects.

Every model forbids unknown keys (a misspelt key is an error at its line, not a silently ignored
setting) and is immutable: a running daemon swaps a whole new ``Settings`` on reload, it never
patches one in place.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import socket
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import jinja2
from jinja2.sandbox import SandboxedEnvironment
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

from monitor.base.listen import HttpSpec
from monitor.base.units import parse_duration, parse_rate, parse_size

Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Rate = Annotated[float, BeforeValidator(parse_rate)]

# Two texts whose sketches share this much (Jaccard) or more are one story (measured:
# bench/stories.py); ``defaults.story_similarity`` overrides it.
SAME_STORY = 0.5

# Seconds before attempts 2, 3, ... as Svix does: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
# (about 27.6 h in all, then the alert is dead).
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{value!r} is not an http(s) URL")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    return value


HttpURL = Annotated[StrictStr, AfterValidator(_http_url)]


def _secret_http_url(value: SecretStr) -> SecretStr:
    try:
        _http_url(value.get_secret_value())
    except ValueError:
        raise ValueError("is not an http(s) URL with a host") from None  # never echo a secret
    return value


# Chat webhook URLs carry their token in the path: they are secrets, never printed or logged.
SecretURL = Annotated[SecretStr, AfterValidator(_secret_http_url)]


MAKE_SECRET = (
    "python -c \"import base64,os;print('whsec_'+base64.b64encode(os.urandom(32)).decode())\""
)


def _webhook_secret(value: SecretStr) -> SecretStr:
    """``whsec_`` + base64 of 24 to 64 random bytes, as Standard Webhooks defines a secret.

    Nothing else is accepted: the reference verifier reads any secret string as base64, so a
    plain password would sign with bytes no receiver's library could check.
    """
    text = value.get_secret_value()
    if not text.startswith("whsec_"):
        raise ValueError(
            "a webhook secret is whsec_ + base64 of 24 to 64 random bytes (Standard Webhooks);"
            f" make one with: {MAKE_SECRET}"
        )
    try:
        key = base64.b64decode(text.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"a whsec_ secret must hold 24 to 64 random bytes, not {len(key)}")
    return value


WebhookSecret = Annotated[SecretStr, AfterValidator(_webhook_secret)]


def _one_or_many(value: object) -> object:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


def _cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as e:
        raise ValueError(
            f"{value!r} is not a cron expression (min hour day month dow): {e}"
        ) from None
    return value


Cron = Annotated[StrictStr, AfterValidator(_cron)]


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (examples: UTC, Asia/Jakarta)") from None
    return value


TimeZone = Annotated[StrictStr, AfterValidator(_timezone)]

# Parses templates as the sinks' environments do (the same block whitespace rules).
_TEMPLATES = SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)


def _template(value: str) -> str:
    """A Jinja2 template that parses (it is rendered by :mod:`monitor.stages.message`)."""
    try:
        _TEMPLATES.parse(value)
    except jinja2.TemplateSyntaxError as e:
        raise ValueError(f"template syntax error on its line {e.lineno}: {e.message}") from None
    return value


Template = Annotated[StrictStr, AfterValidator(_template)]


def _email_address(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("an address cannot contain a line break")
    name, address = parseaddr(value)
    if not address or "@" not in address:
        raise ValueError(f"{value!r} is not an email address")
    username, _, domain = address.rpartition("@")
    try:
        Address(display_name=name, username=username, domain=domain)
    except (ValueError, IndexError) as e:
        raise ValueError(f"{value!r} is not an email address: {e}") from None
    return value


EmailAddress = Annotated[StrictStr, AfterValidator(_email_address)]


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


class RetentionSpec(Model):
    """How long the store keeps what it no longer needs (pruned once a day).

    ``entries``: an entry its feed has not listed for this long loses its text, revisions and
    matches, keeping its key and hashes (a tombstone: it can never be new again).
    ``tombstones``: a tombstone not listed for this long goes. ``alerts``: a delivered alert
    keeps its payload this long, then only the key that keeps it single.
    """

    entries: Duration = Field(90 * 86400.0, ge=86400)
    tombstones: Duration = Field(365 * 86400.0, ge=86400)
    alerts: Duration = Field(90 * 86400.0, ge=86400)

    @model_validator(mode="after")
    def _order(self) -> RetentionSpec:
        if self.tombstones < self.entries:
            raise ValueError("tombstones must be kept at least as long as entries")
        return self


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
    per_sink: int = Field(4, ge=1, le=64)
    jitter: float = Field(0.1, ge=0.0, le=0.5)
    user_agent: StrictStr | None = None
    language: StrictStr | None = None
    retries: tuple[Duration, ...] = Field(RETRY_SCHEDULE, max_length=50)
    retry_after_max: Duration = 3600.0
    timezone: TimeZone = "UTC"
    # Copies of one story (same canonical link, or this similar a text within the window) are
    # one story: one alert per rule and sink, the others listed as "also reported by".
    story_window: Duration = Field(3 * 86400.0, ge=0)
    story_similarity: float = Field(SAME_STORY, ge=0.2, le=1.0)
    retention: RetentionSpec = RetentionSpec()

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


class SinkBase(Model):
    """What every sink may set: delivery limits, retries, and a digest instead of single alerts.

    ``digest`` is a cron expression (``"0 8 * * *"``) read in ``timezone``: alerts wait and go
    out as one digest at those times. ``rate`` spaces messages evenly (``1/s``, ``20/m``).
    ``retries`` replaces the default schedule; ``concurrency`` the default ``per_sink``.
    """

    timeout: Duration = Field(15.0, gt=0, le=120)
    concurrency: int | None = Field(None, ge=1, le=64)
    rate: Rate | None = None
    retries: tuple[Duration, ...] | None = Field(None, max_length=50)
    digest: Cron | None = None
    timezone: TimeZone | None = None


class MessageSinkBase(SinkBase):
    """Sinks that send text a person reads: Jinja2 templates (sandboxed) override the defaults."""

    template: Template | None = None
    digest_template: Template | None = None


class WebhookSinkSpec(SinkBase):
    type: Literal["webhook"]
    url: HttpURL
    # One secret, or a list during a rotation: each one signs, the receiver accepts any.
    secret: Annotated[tuple[WebhookSecret, ...], BeforeValidator(_one_or_many)] = Field(
        (), max_length=5
    )
    headers: Mapping[StrictStr, StrictStr] = Field(default_factory=dict)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s.get_secret_value() for s in self.secret)


class LogSinkSpec(SinkBase):
    type: Literal["log"]


class SlackSinkSpec(MessageSinkBase):
    """A Slack incoming webhook (https://api.slack.com/messaging/webhooks)."""

    type: Literal["slack"]
    url: SecretURL


class DiscordSinkSpec(MessageSinkBase):
    """A Discord channel webhook; mentions are never parsed (``allowed_mentions``)."""

    type: Literal["discord"]
    url: SecretURL
    username: StrictStr | None = Field(None, max_length=80)


class TelegramSinkSpec(MessageSinkBase):
    """A Telegram bot posting to one chat with ``sendMessage`` (https://core.telegram.org/bots/api)."""

    type: Literal["telegram"]
    token: SecretStr
    chat_id: StrictStr | int
    api_url: HttpURL = "https://api.telegram.org"
    silent: bool = False


class EmailSinkSpec(MessageSinkBase):
    """Mail over SMTP; ``security`` is ``starttls`` (port 587), ``tls`` (465) or ``none`` (25)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["email"]
    host: StrictStr
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: StrictStr | None = None
    password: SecretStr | None = None
    sender: EmailAddress = Field(alias="from")
    to: Annotated[tuple[EmailAddress, ...], BeforeValidator(_one_or_many)] = Field(min_length=1)
    subject: Template | None = None

    @property
    def smtp_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


class AppriseSinkSpec(MessageSinkBase):
    """Any service Apprise knows (github.com/caronc/apprise), by its URLs; an optional extra."""

    type: Literal["apprise"]
    urls: Annotated[tuple[SecretStr, ...], BeforeValidator(_one_or_many)] = Field(min_length=1)
    title: Template | None = None

    @model_validator(mode="after")
    def _installed(self) -> AppriseSinkSpec:
        import importlib.util

        if importlib.util.find_spec("apprise") is None:
            raise ValueError(
                "the apprise sink needs the optional extra: pip install 'newsmon[apprise]'"
            )
        return self


SinkSpec = Annotated[
    WebhookSinkSpec
    | LogSinkSpec
    | SlackSinkSpec
    | DiscordSinkSpec
    | TelegramSinkSpec
    | EmailSinkSpec
    | AppriseSinkSpec,
    Field(discriminator="type"),
]
SINK_TYPES = (
    WebhookSinkSpec,
    LogSinkSpec,
    SlackSinkSpec,
    DiscordSinkSpec,
    TelegramSinkSpec,
    EmailSinkSpec,
    AppriseSinkSpec,
)


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
    groups: Mapping[Name, StrictStr] = Field(default_factory=dict)
    rules: tuple[RuleSpec, ...] = ()
    sinks: Mapping[Name, SinkSpec] = Field(default_factory=dict)
    http: HttpSpec = HttpSpec()

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
    first sync alerts: None = silent, ``inf`` = everything.
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
        )


def feed_policies(settings: Settings) -> dict[str, FeedPolicy]:
    """Each configured feed's policy, by URL."""
    return {spec.url: FeedPolicy.resolve(settings, spec) for spec in settings.feeds}


def sink_names_for(rule: RuleSpec, settings: Settings) -> tuple[str, ...]:
    """The sinks a rule delivers to: its own list, or every sink when it names none."""
    return rule.sinks if rule.sinks is not None else tuple(settings.sinks)
