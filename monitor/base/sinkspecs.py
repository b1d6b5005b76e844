"""The sinks' config models, one per ``type:``, discriminated by it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, SecretStr, StrictStr, model_validator

from monitor.base.fields import (
    Cron,
    Duration,
    EmailAddress,
    HttpURL,
    Model,
    Rate,
    SecretURL,
    Template,
    TimeZone,
    WebhookSecret,
    one_or_many,
)


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
    secret: Annotated[
        tuple[WebhookSecret, ...],
        BeforeValidator(one_or_many, json_schema_input_type=str | list[str]),
    ] = Field((), max_length=5)
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
    to: Annotated[
        tuple[EmailAddress, ...],
        BeforeValidator(one_or_many, json_schema_input_type=EmailAddress | list[EmailAddress]),
    ] = Field(min_length=1)
    subject: Template | None = None

    @property
    def smtp_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


class AppriseSinkSpec(MessageSinkBase):
    """Any service Apprise knows (github.com/caronc/apprise), by its URLs; an optional extra."""

    type: Literal["apprise"]
    urls: Annotated[
        tuple[SecretStr, ...],
        BeforeValidator(one_or_many, json_schema_input_type=str | list[str]),
    ] = Field(min_length=1)
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
