"""The value types the config models are made of: durations, sizes, URLs, secrets, cron
expressions, time zones, templates; each validated where it is read, with a message that says
what was expected."""

from __future__ import annotations

import base64
import binascii
import math
import zoneinfo
from email.headerregistry import Address
from email.utils import parseaddr
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
)

from monitor.base.units import parse_duration, parse_rate, parse_size

# What each value type accepts as written, for the JSON Schema editors validate against
# (``newsmon schema``); the validators above them are what decides.
_NUMBER = r"[0-9]+(\.[0-9]+)?\s*"
_UNIT = r"([mM][sS]|[sSmMhHdDwW])"
DurationText = Annotated[str, Field(pattern=rf"^\s*({_NUMBER}{_UNIT}\s*)+$")]
SizeText = Annotated[str, Field(pattern=rf"^\s*{_NUMBER}([bB]|[kKmMgG][iI]?[bB])?\s*$")]
RateText = Annotated[str, Field(pattern=rf"^\s*{_NUMBER}/\s*({_NUMBER})?{_UNIT}\s*$")]

Duration = Annotated[
    float,
    BeforeValidator(
        parse_duration, json_schema_input_type=Annotated[float, Field(ge=0)] | DurationText
    ),
]
Size = Annotated[
    int,
    BeforeValidator(parse_size, json_schema_input_type=Annotated[int, Field(ge=0)] | SizeText),
]
Rate = Annotated[float, BeforeValidator(parse_rate, json_schema_input_type=RateText)]


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


def one_or_many(value: object) -> object:
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


Backfill = Annotated[
    float,
    BeforeValidator(
        _backfill,
        json_schema_input_type=Literal["all"] | Annotated[float, Field(ge=0)] | DurationText,
    ),
]
Name = Annotated[StrictStr, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_bounds(model: Any) -> Any:
    low, high = model.min_interval, model.max_interval
    if low is not None and high is not None and low > high:
        raise ValueError("min_interval is longer than max_interval")
    return model


# A feed's ``full_text:``: article pages for teasers (auto), for every new entry, or never.
FullTextMode = Literal["auto", "always", "never"]
