"""The ``http:`` key: where ``newsmon run`` serves ``/healthz``, ``/readyz``, ``/metrics`` and
the dashboard.

Off unless ``listen`` is set. The host is required: ``127.0.0.1:9464`` keeps the endpoint on
this machine, ``0.0.0.0:9464`` opens it to the network, and that should be a visible choice.
Port 0 asks the kernel for a free port (the ``http.listening`` log line says which).

The dashboard is open on a loopback address; anywhere else it needs ``token`` (a secret: write
it as ``${credential:...}``), and without one newsmon refuses to serve it rather than open it
to the network (``dashboard: false`` keeps only the probes and metrics there). ``actions``
turns on its buttons (dead-letter replay, re-enabling a feed or a sink), and needs a token too.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr, model_validator

EXAMPLES = "examples: 127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464"
_HOSTNAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


def split_listen(value: str) -> tuple[str, int]:
    """``"host:port"`` as ``(host, port)``; an IPv6 host goes in brackets (``[::1]:9464``)."""
    host, colon, port = value.rpartition(":")
    if not colon:
        raise ValueError(f"{value!r} is not host:port ({EXAMPLES})")
    if not host:
        raise ValueError(
            f"{value!r} has no host: 127.0.0.1{value} keeps it on this machine, "
            f"0.0.0.0{value} opens it to the network"
        )
    if not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{value!r}: the port must be a number from 0 to 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{value!r}: {host!r} in brackets is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"{value!r}: put an IPv6 address in brackets, as in [::1]:9464")
    elif not _HOSTNAME.match(host) or _bad_ipv4(host):
        raise ValueError(f"{value!r}: {host!r} is neither an IP address nor a host name")
    return host, int(port)


def _bad_ipv4(host: str) -> bool:
    """All-numeric labels read as an IPv4 address, which must then be a valid one."""
    if not all(part.isdigit() for part in host.split(".")):
        return False
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return True
    return False


def _listen(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"{value} is a port without a host; write '127.0.0.1:{value}'")
    if isinstance(value, str):
        split_listen(value)
    return value


Listen = Annotated[str, BeforeValidator(_listen)]


class HttpSpec(BaseModel):
    """``http: {listen: "127.0.0.1:9464"}``; changing it needs a restart."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: Listen | None = None
    dashboard: bool = True
    token: SecretStr | None = None
    actions: bool = False

    @model_validator(mode="after")
    def _guarded(self) -> HttpSpec:
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("http.token must be at least 16 characters")
        if self.actions and self.token is None:
            raise ValueError(
                "http.actions needs http.token: buttons that change state are never open"
            )
        address = self.address
        if self.dashboard and address and self.token is None and not is_loopback(address[0]):
            raise ValueError(
                f"http.listen {self.listen} is not a loopback address: the dashboard there "
                "needs http.token (token: ${credential:newsmon-http-token}), "
                "or set http.dashboard: false to serve only /healthz, /readyz and /metrics"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data  # `http:` with nothing under it: off

    @property
    def address(self) -> tuple[str, int] | None:
        return split_listen(self.listen) if self.listen else None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: this machine only."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
