"""The address guard of :mod:`monitor.stages.fetch`: what a fetch may connect to, and what its
requests carry to other origins.

Direct fetches are checked at connect time: a ``socket_factory`` on the connector sees each
resolved address just before it is dialled, for the first request and every redirect hop, and
for IP-literal URLs too (a custom resolver would be skipped for those: aiohttp does not resolve
them).

Through a proxy the only address dialled is the proxy's, which the operator configured and the
guard lets through. So each hop's target host is resolved here, before the request goes to the
proxy (a client middleware runs once per hop), and the fetch is refused if any of its addresses
is not public, or if it cannot be resolved at all. The proxy resolves the name again on its
side: a name whose answer changes between the two lookups (DNS rebinding) is not caught.

Whether a fetch may reach private addresses travels in a context variable (:class:`Permit`)
set by :meth:`Fetcher.fetch`; without one the guard refuses. The permit also names the extra
headers meant for the fetched URL's origin only: a redirect to another origin carries none of
them (aiohttp drops ``Authorization`` and cookies itself, newsmon the rest).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from aiohttp import ClientHandlerType, ClientMiddlewareType, ClientRequest, ClientResponse
from aiohttp.connector import AddrInfoType
from yarl import URL

from monitor.base.errors import AddressRefused, FetchError
from monitor.stages.addresses import classify_address

Classifier = Callable[[str], str | None]

# Content negotiation follows a redirect anywhere; every other extra header stays at its origin.
FOLLOWING_HEADERS = frozenset({"accept", "accept-language"})


@dataclass
class Permit:
    """What the guard may let through for the fetch running in this context."""

    allow_private: bool
    url: str = ""
    via_proxy: bool = False
    origin_only: frozenset[str] = frozenset()
    proxy_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    refused: list[str] = field(default_factory=list)

    @property
    def origin(self) -> URL:
        return URL(self.url).origin()


PERMIT: ContextVar[Permit | None] = ContextVar("newsmon_fetch_permit", default=None)


def origin_only(headers: dict[str, str]) -> frozenset[str]:
    """The extra headers of a fetch that a redirect to another origin must not carry."""
    return frozenset(name.lower() for name in headers) - FOLLOWING_HEADERS


def guarded_socket_factory(
    classify: Classifier = classify_address,
) -> Callable[[AddrInfoType], socket.socket]:
    """A socket factory that refuses non-public addresses unless the current fetch allows them
    (or goes through the proxy, whose address this is).

    ``classify`` is the address classifier; tests inject one that treats a loopback address
    as public, since no public address can be served here.
    """

    def create(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        permit = PERMIT.get()
        if permit is None or not (permit.allow_private or permit.via_proxy):
            host = str(address[0])
            reason = classify(host)
            if reason is not None:
                refusal = f"{host} ({reason})"
                if permit is not None:
                    permit.refused.append(refusal)
                raise OSError(errno.EACCES, f"refused to connect to {refusal}")
        return socket.socket(family, type_, proto)

    return create


def request_guard(classify: Classifier = classify_address) -> ClientMiddlewareType:
    """A client middleware, run for each hop: drops origin-only headers on another origin,
    checks a proxied hop's target addresses (:func:`check_target`) and gives it the proxy's
    credentials."""

    async def guard(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        permit = PERMIT.get()
        if permit is not None and request.url.origin() != permit.origin:
            for name in permit.origin_only:
                request.headers.popall(name, None)
        if request.proxy is not None:
            if permit is None or not permit.allow_private:
                await check_target(request.url, classify, permit or Permit(False, str(request.url)))
            if permit is not None and not request.is_ssl():
                # A plain-http request goes to the proxy as it is: its Proxy-Authorization
                # travels with it, on every hop (aiohttp sends ``proxy_headers`` on CONNECT only).
                request.headers.update(permit.proxy_headers)
        return await handler(request)

    return guard


async def check_target(url: URL, classify: Classifier, permit: Permit) -> None:
    """Refuse ``url`` unless every address its host resolves to is public."""
    host = url.raw_host or ""
    for address in await _addresses(host, url.port, permit):
        reason = classify(address)
        if reason is not None:
            permit.refused.append(f"{address} ({reason})")
            raise AddressRefused(
                permit.url,
                f"refused to fetch {host} through the proxy: {address} ({reason}) is not a "
                "public address (allow_private: true allows it)",
            )


async def _addresses(host: str, port: int | None, permit: Permit) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise FetchError(
            permit.url,
            f"cannot resolve {host} to check its addresses before the proxy fetches it: "
            f"{e.strerror or e}",
        ) from e
    return sorted({str(info[4][0]) for info in infos})
