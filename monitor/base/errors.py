"""Exceptions newsmon raises, and where each one is caught.

* MonitorError
  + ConfigError            config refused; carries every problem as ``file:line:col: message``
  + UpdateError            one feed's update failed; a value at the feed boundary, never fatal
    - FetchError           the HTTP exchange failed
      · FetchTimeout       (also a TimeoutError) the total deadline passed
      · HTTPStatusError    the server answered with a non-success status
      · BodyTooLarge       the decompressed body passed ``max_body``
      · AddressRefused     the URL (or a redirect) leads to a non-public address
    - ParseError           the body is not a feed we can read
      · NotAFeed           an HTML page (with the feed links it offers), or other non-feed
      · UnsafeXML          entity declarations that could blow up memory or read files
      · ParseTimeout       (also a TimeoutError) the parse passed its deadline; worker killed
  + StoreError             the state store refused an operation
  + EndpointError          (also an OSError) the HTTP endpoint cannot listen on ``http.listen``
  + SinkError              one delivery attempt failed (the outbox retries it)
    - SinkGone             the receiver answered 410 Gone: the sink is disabled

Exceptions from libraries are translated only at the edges (``aiohttp.ClientError`` becomes
``FetchError(url) from e`` in :mod:`monitor.stages.fetch`); anything else that escapes a feed
update is a bug, logged as critical and re-raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus


class MonitorError(Exception):
    """Root of newsmon's own exceptions."""


@dataclass(frozen=True)
class Position:
    """A place in a config file, 1-based like editors and compilers print it."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config, at a position when one is known."""

    message: str
    position: Position | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.position}: " if self.position else ""
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}{label}{self.message}"


class ConfigError(MonitorError):
    """The configuration was refused; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UpdateError(MonitorError):
    """A feed update failed; the feed is backed off, other feeds are unaffected.

    ``kind`` is a short, stable word for the cause (``timeout``, ``http``, ``refused``,
    ``not_a_feed``...), stored beside the message so that status views and metrics can group
    failures without parsing messages.
    """

    kind = "error"

    def __init__(self, url: str, message: str, *, kind: str | None = None) -> None:
        self.url = url
        self.message = message
        if kind is not None:
            self.kind = kind
        super().__init__(f"{url}: {message}")


class FetchError(UpdateError):
    """The HTTP exchange for a feed failed."""

    kind = "fetch"


class FetchTimeout(FetchError, TimeoutError):
    """The fetch did not complete within its total deadline."""

    kind = "timeout"


class HTTPStatusError(FetchError):
    """The server answered with a status that is not a success."""

    kind = "http"

    def __init__(self, url: str, status: int, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        try:
            phrase = f" {HTTPStatus(status).phrase}"
        except ValueError:
            phrase = ""
        super().__init__(url, f"HTTP {status}{phrase}")


class BodyTooLarge(FetchError):
    """The decompressed body exceeded the configured cap."""

    kind = "too_large"


class AddressRefused(FetchError):
    """The connect-time guard refused a non-public address (``allow_private`` is off)."""

    kind = "refused"


class ParseError(UpdateError):
    """The body could not be read as a feed."""

    kind = "parse"


class NotAFeed(ParseError):
    """The body is not a feed; for an HTML page, ``links`` holds the feeds it points to."""

    kind = "not_a_feed"

    def __init__(self, url: str, message: str, links: Sequence[str] = ()) -> None:
        self.links = tuple(links)
        super().__init__(url, message)


class UnsafeXML(ParseError):
    """Entity declarations that feedparser must not see (external, nested, or too large)."""

    kind = "unsafe_xml"


class ParseTimeout(ParseError, TimeoutError):
    """The parse did not finish within its deadline; its worker process was killed."""

    kind = "parse_timeout"


class StoreError(MonitorError):
    """The state store refused an operation."""


class EndpointError(MonitorError, OSError):
    """The daemon's HTTP endpoint cannot listen (address in use, not permitted, unknown host)."""


class SinkError(MonitorError):
    """A delivery attempt failed; ``retry_after`` is a server's hint in seconds."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(message)


class SinkGone(SinkError):
    """The receiver said 410 Gone: stop sending to this sink until a person re-enables it."""
