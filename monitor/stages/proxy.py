"""Which outbound proxy carries a fetch: ``defaults.proxy`` and ``defaults.no_proxy`` when set,
else ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` from the environment (lower-case names too,
read as :mod:`urllib.request` reads them), decided once per fetch from its URL; its redirects go
the same way. ``ALL_PROXY`` and SOCKS proxies are not supported.

A proxy URL may carry a user and password: they go as ``Proxy-Authorization`` and are kept out
of every ``repr`` and message. What the address guard does through a proxy is in
:mod:`monitor.stages.guard`.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr
from yarl import URL

from monitor.base.fetchspecs import basic_credentials
from monitor.base.settings import Defaults

SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Route:
    """The proxy for one fetch, and the ``Proxy-Authorization`` its URL's credentials make."""

    proxy: URL = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, url: str) -> Route:
        parsed = URL(url)
        if parsed.user is None:
            return cls(parsed)
        password = parsed.password or ""
        credentials = basic_credentials(parsed.user, password)
        secrets = tuple(s for s in (password, credentials.removeprefix("Basic ")) if s)
        return cls(parsed.with_user(None), {"Proxy-Authorization": credentials}, secrets)


@dataclass(frozen=True)
class ProxyRoutes:
    """Proxy URLs by scheme, bypassed for the hosts of ``no_proxy`` (NO_PROXY's syntax: a
    comma-separated list of names, domain suffixes, ``host:port``, or ``*`` for all)."""

    proxies: Mapping[str, str] = field(default_factory=dict, repr=False)
    no_proxy: str = ""

    @classmethod
    def from_environment(cls) -> ProxyRoutes:
        found = urllib.request.getproxies_environment()
        return cls({k: v for k, v in found.items() if k in SCHEMES}, found.get("no", ""))

    @classmethod
    def configured(
        cls, proxy: str | SecretStr | None, no_proxy: Sequence[str] | None
    ) -> ProxyRoutes:
        """The routes for ``defaults.proxy`` (a URL, ``direct`` for none, None for the
        environment's) and ``defaults.no_proxy`` (None for the environment's)."""
        environment = cls.from_environment()
        if isinstance(proxy, SecretStr):
            proxy = proxy.get_secret_value()
        proxies = dict(environment.proxies)
        if proxy == "direct":
            proxies = {}
        elif proxy is not None:
            proxies = dict.fromkeys(SCHEMES, proxy)
        bypass = ",".join(no_proxy) if no_proxy is not None else environment.no_proxy
        return cls(proxies, bypass)

    def route(self, url: str) -> Route | None:
        """The proxy that carries a fetch of ``url``, or None to connect directly."""
        parts = urlsplit(url)
        proxy = self.proxies.get(parts.scheme)
        if not proxy:
            return None
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        # Not in typeshed, but documented: NO_PROXY's matching, as urllib does it.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if self.no_proxy and bypass(netloc, {"no": self.no_proxy}):
            return None
        return Route.of(proxy)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The proxies' passwords, which no message may show."""
        return tuple(p for url in self.proxies.values() for p in Route.of(url).secrets)


def proxy_routes(defaults: Defaults) -> ProxyRoutes:
    """The routes ``defaults.proxy`` and ``defaults.no_proxy`` configure."""
    return ProxyRoutes.configured(defaults.proxy, defaults.no_proxy)
