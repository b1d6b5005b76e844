"""What a feed's requests carry besides newsmon's own headers: extra ``headers``, a
``user_agent`` and credentials (``auth:``, basic or bearer), and the outbound ``proxy``.

Header values, passwords and tokens are secrets (``SecretStr``): a model's ``repr`` or a
validation message never shows them, and they reach the wire only through
:func:`request_options`. Write them as ``${credential:NAME}``, ``${file:PATH}`` or ``${VAR}``
like the sinks' secrets (:mod:`monitor.config.secrets` checks who can read them).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, StrictStr

from monitor.base.fields import HttpURL, Model
from monitor.base.types import RequestOptions

# RFC 9110 field names are tokens.
HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
# Headers newsmon sets itself: a feed's own ``headers:`` may not replace them.
RESERVED_HEADERS = {
    "host": "it is the URL's",
    "content-length": "newsmon sends no body",
    "transfer-encoding": "newsmon sends no body",
    "connection": "the connection pool decides it",
    "if-none-match": "newsmon's conditional GET sets it",
    "if-modified-since": "newsmon's conditional GET sets it",
    "user-agent": "write user_agent: instead",
}


def _header_name(name: str) -> str:
    why = RESERVED_HEADERS.get(name.lower())
    if why is not None:
        raise ValueError(f"header {name} cannot be set here: {why}")
    return name


def _header_value(value: SecretStr) -> SecretStr:
    if any(c in value.get_secret_value() for c in "\r\n\0"):
        raise ValueError("a header value cannot hold a line break or a NUL")  # never echo it
    return value


HeaderName = Annotated[StrictStr, Field(pattern=HEADER_NAME), AfterValidator(_header_name)]
HeaderValue = Annotated[SecretStr, AfterValidator(_header_value)]
Headers = Mapping[HeaderName, HeaderValue]


def _no_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # A feed's URL is logged and shown everywhere: a password in it would be too.
        raise ValueError("a feed URL cannot carry a user or password: write them in auth:")
    return url


# A feed's URL: http(s), with no credentials in it.
FeedURL = Annotated[HttpURL, AfterValidator(_no_credentials)]


def _user(value: str) -> str:
    if ":" in value:
        raise ValueError("a basic-auth user cannot contain ':' (RFC 7617)")
    return value


class BasicAuth(Model):
    """HTTP Basic (RFC 7617): ``user`` and ``password``, sent UTF-8 encoded."""

    type: Literal["basic"]
    user: Annotated[StrictStr, AfterValidator(_user)]
    password: SecretStr


class BearerAuth(Model):
    """A bearer token (RFC 6750), as APIs of wire services and subscriptions take one."""

    type: Literal["bearer"]
    token: SecretStr


FeedAuth = Annotated[BasicAuth | BearerAuth, Field(discriminator="type")]


def _proxy(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    parts = urlsplit(text)
    if text != "direct" and (parts.scheme not in ("http", "https") or not parts.hostname):
        # never echo it: it may hold a password
        raise ValueError("a proxy is an http(s) URL (http://host:port), or direct for none")
    return value


# ``proxy: direct`` ignores the environment's proxy; a URL (credentials allowed) is the proxy.
Proxy = Annotated[SecretStr, AfterValidator(_proxy)]


def authorization(auth: BasicAuth | BearerAuth) -> str:
    """The ``Authorization`` header value for ``auth``."""
    if isinstance(auth, BearerAuth):
        return f"Bearer {auth.token.get_secret_value()}"
    return basic_credentials(auth.user, auth.password.get_secret_value())


def basic_credentials(user: str, password: str) -> str:
    """``Basic`` and the base64 of ``user:password`` in UTF-8 (RFC 7617)."""
    pair = f"{user}:{password}".encode()
    return f"Basic {base64.b64encode(pair).decode('ascii')}"


def has_header(headers: Mapping[str, object], name: str) -> bool:
    return any(key.lower() == name.lower() for key in headers)


def request_options(
    layers: tuple[Mapping[str, SecretStr], ...],
    auth: BasicAuth | BearerAuth | None,
    user_agent: str | None,
) -> RequestOptions:
    """The headers of ``layers`` (later ones win, names compared in any case), then the
    ``Authorization`` that ``auth`` makes, which replaces any such header."""
    options = RequestOptions(user_agent=user_agent)
    for layer in layers:
        options = options.with_headers({k: v.get_secret_value() for k, v in layer.items()})
    if auth is not None:
        options = options.with_headers({"Authorization": authorization(auth)})
    return options


def secret_values(options: RequestOptions) -> tuple[str, ...]:
    """What must never appear in a message: every extra header value, and the credential
    inside an ``Authorization`` (a token, a basic pair's base64 and its password)."""
    values = [v for v in options.headers.values() if v]
    for name, value in options.headers.items():
        if name.lower() == "authorization":
            scheme, _, credential = value.partition(" ")
            values.append(credential)
            if scheme.lower() == "basic":
                with contextlib.suppress(ValueError):
                    values.append(base64.b64decode(credential).decode().partition(":")[2])
    return tuple(v for v in values if len(v) >= 4)


__all__ = [
    "BasicAuth",
    "BearerAuth",
    "FeedAuth",
    "FeedURL",
    "HeaderName",
    "HeaderValue",
    "Headers",
    "Proxy",
    "authorization",
    "basic_credentials",
    "has_header",
    "request_options",
    "secret_values",
]
