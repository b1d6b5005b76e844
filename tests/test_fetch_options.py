"""What a feed's requests carry (``headers:``, ``user_agent:``, ``auth:``) and which way they
go (``defaults.proxy``, ``HTTP_PROXY`` / ``NO_PROXY``), over loopback: a server that demands
credentials, a small forward proxy (absolute-form GET for ``http://``, and a CONNECT tunnel
for ``https://``), and the address guard through the proxy.

127.0.0.1 plays a public host (the injected classifier); 127.0.0.2 and 127.0.0.3 are other,
loopback (non-public) hosts. The proxy listens on 127.0.0.3: its own address is allowed because
the operator configured it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from monitor.app.reload import restart_needed
from monitor.base.errors import AddressRefused, ConfigError, FetchError, HTTPStatusError
from monitor.base.fetchspecs import secret_values
from monitor.base.settings import FeedPolicy, Settings, feed_policies
from monitor.base.types import FetchResult, RequestOptions
from monitor.config import load_config
from monitor.config.secrets import secret_problems
from monitor.stages.addresses import classify_address
from monitor.stages.fetch import Fetcher, make_session
from monitor.stages.fetch import _translate as translate_fetch_error
from monitor.stages.guard import Permit
from monitor.stages.proxy import ProxyRoutes
from tests.configs import rule, webhook
from tests.conftest import FakeClock, Receiver, run_once
from tests.test_cli import newsmon

PASSWORD = "wire-password-s3cret"
TOKEN = "bearer-token-s3cret"
API_KEY = "api-key-s3cret"
PROXY_PASSWORD = "proxy-password-s3cret"
SECRETS = (
    PASSWORD,
    TOKEN,
    API_KEY,
    PROXY_PASSWORD,
    base64.b64encode(f"desk:{PASSWORD}".encode()).decode(),
)
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Origin:
    """A feed host on ``host``: ``/basic``, ``/bearer`` and ``/key`` answer 401 without their
    credential; ``/open`` answers anyone; ``/away?to=URL`` redirects. Records every request."""

    body: bytes
    host: str = "127.0.0.1"
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base: str = ""
    runner: web.AppRunner | None = None

    async def start(self) -> Origin:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, 0)
        await site.start()
        self.base = f"http://{self.host}:{self.runner.addresses[0][1]}"
        return self

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path_qs, dict(request.headers)))
        wanted = {
            "/basic": ("Authorization", basic("desk", PASSWORD)),
            "/bearer": ("Authorization", f"Bearer {TOKEN}"),
            "/key": ("X-Api-Key", API_KEY),
        }.get(request.path)
        if wanted and request.headers.get(wanted[0]) != wanted[1]:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="wire"'})
        if request.path == "/away":
            raise web.HTTPFound(request.query["to"])
        return web.Response(body=self.body, content_type="application/rss+xml")


@dataclass
class ForwardProxy:
    """A forward proxy for ``http://`` URLs (absolute-form GET, no CONNECT): it fetches what it
    is asked without following redirects, and records each URL and its Proxy-Authorization."""

    host: str = "127.0.0.3"
    carried: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""
    runner: web.ServerRunner | None = None
    session: aiohttp.ClientSession | None = None

    async def start(self) -> ForwardProxy:
        self.session = aiohttp.ClientSession(auto_decompress=False)
        self.runner = web.ServerRunner(web.Server(self._handle), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, 0)
        await site.start()
        self.url = f"http://{self.host}:{self.runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        assert self.runner
        assert self.session
        await self.runner.cleanup()
        await self.session.close()

    def targets(self) -> list[str]:
        return [target for target, _ in self.carried]

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.carried.append((request.raw_path, request.headers.get("Proxy-Authorization")))
        hop = ("host", "connection", "proxy-connection", "proxy-authorization")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in hop}
        assert self.session is not None
        async with self.session.get(
            request.raw_path, headers=headers, allow_redirects=False
        ) as answer:
            kept = ("content-type", "content-encoding", "location", "etag", "www-authenticate")
            return web.Response(
                body=await answer.read(),
                status=answer.status,
                headers={k: v for k, v in answer.headers.items() if k.lower() in kept},
            )


@dataclass
class TunnelProxy:
    """A CONNECT proxy (for ``https://`` URLs): it records each tunnel's target and
    Proxy-Authorization, then pipes bytes both ways without seeing inside the TLS."""

    host: str = "127.0.0.3"
    carried: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""
    server: asyncio.Server | None = None
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> TunnelProxy:
        self.server = await asyncio.start_server(self._handle, self.host, 0)
        self.url = f"http://{self.host}:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        assert self.server
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ")
        fields = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
        self.carried.append((target, fields.get("Proxy-Authorization")))
        assert method == "CONNECT"
        host, port = target.rsplit(":", 1)
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        self.writers += [writer, upstream_writer]
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no proxy in the environment and sets the one it is about."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def origin(seed_feed: bytes) -> AsyncIterator[Origin]:
    server = await Origin(seed_feed).start()
    yield server
    assert server.runner
    await server.runner.cleanup()


@pytest.fixture
async def elsewhere(seed_feed: bytes) -> AsyncIterator[Origin]:
    """Another host, 127.0.0.2 (loopback: not public for the guard)."""
    server = await Origin(seed_feed, host="127.0.0.2").start()
    yield server
    assert server.runner
    await server.runner.cleanup()


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    server = await ForwardProxy().start()
    yield server
    await server.stop()


def loopback_is_public(host: str) -> str | None:
    """The classifier, except that 127.0.0.1 plays a public server (none can be served here)."""
    return None if host == "127.0.0.1" else classify_address(host)


MakeFetcher = Callable[..., Awaitable[Fetcher]]


@pytest.fixture
async def make_fetcher() -> AsyncIterator[MakeFetcher]:
    """``await make_fetcher(proxies=...)``: a guarded fetcher (127.0.0.1 public); without
    ``proxies`` it reads the environment's, as the daemon does."""
    sessions = []

    async def make(**options: Any) -> Fetcher:
        session = make_session(
            concurrency=4, per_host=2, user_agent=None, classify=loopback_is_public
        )
        sessions.append(session)
        return Fetcher(session, max_body=1024 * 1024, **options)

    yield make
    for session in sessions:
        await session.close()


def policy_for(url: str, **feed: Any) -> FeedPolicy:
    """The resolved policy of one feed configured with ``feed``'s options."""
    settings = Settings.model_validate({"feeds": [{"url": url, **feed}]})
    return feed_policies(settings)[url]


async def get(
    fetcher: Fetcher,
    url: str,
    request: RequestOptions | None = None,
    *,
    allow_private: bool = False,
) -> FetchResult:
    async with asyncio.timeout(30):
        return await fetcher.fetch(
            url,
            etag=None,
            last_modified=None,
            deadline=5,
            allow_private=allow_private,
            request=request,
        )


# --- what the requests carry -------------------------------------------------------------------


async def test_basic_auth_reaches_a_server_that_requires_it(
    make_fetcher: MakeFetcher, origin: Origin, seed_feed: bytes
) -> None:
    """Without ``auth:`` the server answers 401; with it, the feed."""
    fetcher = await make_fetcher()
    url = origin.url("basic")
    with pytest.raises(HTTPStatusError) as refused:
        await get(fetcher, url)
    assert refused.value.status == 401
    policy = policy_for(url, auth={"type": "basic", "user": "desk", "password": PASSWORD})
    result = await get(fetcher, url, policy.request)
    assert result.status == 200
    assert result.body == seed_feed


async def test_a_bearer_token_and_extra_headers_reach_the_server(
    make_fetcher: MakeFetcher, origin: Origin
) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(HTTPStatusError):
        await get(fetcher, origin.url("bearer"))
    bearer = policy_for(origin.url("bearer"), auth={"type": "bearer", "token": TOKEN})
    assert (await get(fetcher, origin.url("bearer"), bearer.request)).status == 200
    keyed = policy_for(origin.url("key"), headers={"X-Api-Key": API_KEY})
    assert (await get(fetcher, origin.url("key"), keyed.request)).status == 200
    with pytest.raises(HTTPStatusError):
        await get(fetcher, origin.url("key"))


async def test_defaults_headers_and_user_agent_merge_with_the_feeds_own(
    make_fetcher: MakeFetcher, origin: Origin
) -> None:
    """A feed's header replaces the default of the same name in any case; the feed's
    user_agent wins over ``defaults.user_agent``; the others are kept."""
    url = origin.url("open")
    settings = Settings.model_validate(
        {
            "defaults": {
                "user_agent": "Desk monitor (desk@example.org)",
                "headers": {"Accept-Language": "id", "x-desk": "default"},
            },
            "feeds": [
                {"url": url, "headers": {"X-Desk": "feed"}, "user_agent": "Wire reader/1.0"},
                {"url": origin.url("open?second")},
            ],
        }
    )
    policies = feed_policies(settings)
    fetcher = await make_fetcher()
    await get(fetcher, url, policies[url].request)
    await get(fetcher, origin.url("open?second"), policies[origin.url("open?second")].request)
    [(_, first), (_, second)] = origin.seen
    assert first["X-Desk"] == "feed"
    assert first["Accept-Language"] == "id"
    assert first["User-Agent"] == "Wire reader/1.0"
    assert second["x-desk"] == "default"
    assert second["User-Agent"] == "Desk monitor (desk@example.org)"


async def test_a_page_fetch_merges_its_own_accept_over_the_feeds_request(
    make_fetcher: MakeFetcher, origin: Origin
) -> None:
    """The page fetcher's way: the feed's credentials, and its own Accept header."""
    policy = policy_for(
        origin.url("basic"), auth={"type": "basic", "user": "desk", "password": PASSWORD}
    )
    page = policy.request.with_headers({"accept": "text/html"})
    result = await get(await make_fetcher(), origin.url("basic"), page)
    assert result.status == 200
    [(_, headers)] = origin.seen
    assert headers["Accept"] == "text/html"
    assert headers["Authorization"] == basic("desk", PASSWORD)


async def test_credentials_never_follow_a_redirect_to_another_origin(
    make_fetcher: MakeFetcher, origin: Origin, elsewhere: Origin
) -> None:
    """``Authorization`` (aiohttp drops it) and the extra headers (newsmon drops them) stay with
    the feed's origin; content negotiation and the user agent follow the redirect."""
    target = elsewhere.url("open")
    url = origin.url(f"away?to={target}")
    policy = policy_for(
        url,
        auth={"type": "basic", "user": "desk", "password": PASSWORD},
        headers={"X-Api-Key": API_KEY, "Accept-Language": "id"},
        user_agent="Wire reader/1.0",
    )
    result = await get(await make_fetcher(), url, policy.request, allow_private=True)
    assert result.url == target
    [(_, first)] = origin.seen
    [(_, second)] = elsewhere.seen
    assert first["Authorization"] == basic("desk", PASSWORD)
    assert first["X-Api-Key"] == API_KEY
    assert "Authorization" not in second
    assert "X-Api-Key" not in second
    assert second["Accept-Language"] == "id"
    assert second["User-Agent"] == "Wire reader/1.0"


async def test_a_same_origin_redirect_keeps_the_credentials(
    make_fetcher: MakeFetcher, origin: Origin
) -> None:
    url = origin.url(f"away?to={origin.url('basic')}")
    policy = policy_for(url, auth={"type": "basic", "user": "desk", "password": PASSWORD})
    result = await get(await make_fetcher(), url, policy.request)
    assert result.status == 200
    assert origin.paths()[-1] == "/basic"


def test_every_credential_is_known_to_the_redaction_of_fetch_errors() -> None:
    """Messages of fetch errors pass through a redaction of the fetch's secrets: whatever a
    library puts in its exception text (here a stand-in that echoes them), they come out as
    ``***``."""
    policy = policy_for(
        "https://wire.example/f",
        auth={"type": "basic", "user": "desk", "password": PASSWORD},
        headers={"X-Api-Key": API_KEY},
    )
    route = ProxyRoutes.configured(f"http://desk:{PROXY_PASSWORD}@proxy.example:3128", None)
    secrets = (*secret_values(policy.request), *route.secrets)
    echoed = (PASSWORD, API_KEY, PROXY_PASSWORD, basic("desk", PASSWORD))
    leaky = aiohttp.ClientPayloadError(" ".join(echoed))
    error = translate_fetch_error("https://wire.example/f", leaky, 5, Permit(False), secrets)
    assert error.message == "broken response body: *** *** *** ***"
    bearer = policy_for("https://wire.example/f", auth={"type": "bearer", "token": TOKEN})
    assert TOKEN in secret_values(bearer.request)


# --- which way they go: the proxy --------------------------------------------------------------


async def test_the_proxy_setting_carries_the_fetches_with_its_credentials(
    make_fetcher: MakeFetcher, origin: Origin, proxy: ForwardProxy, seed_feed: bytes
) -> None:
    """``defaults.proxy`` with a user and password: the fetch goes through the proxy (whose
    own loopback address is allowed), with Proxy-Authorization, and the feed's auth still
    reaches the origin."""
    routes = ProxyRoutes.configured(proxy.url.replace("://", f"://desk:{PROXY_PASSWORD}@"), None)
    policy = policy_for(
        origin.url("basic"), auth={"type": "basic", "user": "desk", "password": PASSWORD}
    )
    result = await get(await make_fetcher(proxies=routes), origin.url("basic"), policy.request)
    assert result.body == seed_feed
    assert proxy.carried == [(origin.url("basic"), basic("desk", PROXY_PASSWORD))]
    assert origin.paths() == ["/basic"]


async def test_http_proxy_from_the_environment_carries_the_fetches(
    make_fetcher: MakeFetcher, origin: Origin, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    fetcher = await make_fetcher()
    assert (await get(fetcher, origin.url("open"))).status == 200
    assert proxy.targets() == [origin.url("open")]


async def test_no_proxy_sends_its_hosts_direct(
    make_fetcher: MakeFetcher, origin: Origin, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_PROXY from the environment, and ``no_proxy:`` in the config, which wins over it."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")
    assert (await get(await make_fetcher(), origin.url("open"))).status == 200
    assert proxy.carried == []
    configured = ProxyRoutes.configured(None, ["127.0.0.9"])
    assert (await get(await make_fetcher(proxies=configured), origin.url("open"))).status == 200
    assert proxy.targets() == [origin.url("open")]
    assert len(origin.seen) == 2


async def test_the_proxy_setting_wins_over_the_environment(
    make_fetcher: MakeFetcher, origin: Origin, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment proxy that is down does not matter when the config names another one,
    or says ``direct``."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.3:9")
    with pytest.raises(FetchError, match=r"127\.0\.0\.3"):
        await get(await make_fetcher(), origin.url("open"))
    configured = await make_fetcher(proxies=ProxyRoutes.configured(proxy.url, None))
    assert (await get(configured, origin.url("open"))).status == 200
    assert proxy.targets() == [origin.url("open")]
    direct = await make_fetcher(proxies=ProxyRoutes.configured("direct", None))
    assert (await get(direct, origin.url("open"))).status == 200
    assert len(proxy.carried) == 1
    assert len(origin.seen) == 2


async def test_every_hop_through_the_proxy_carries_its_credentials(
    make_fetcher: MakeFetcher, origin: Origin, elsewhere: Origin, proxy: ForwardProxy
) -> None:
    """aiohttp drops Proxy-Authorization on a redirect to another origin; the proxy still
    needs it for the next hop, and gets it."""
    routes = ProxyRoutes.configured(proxy.url.replace("://", f"://desk:{PROXY_PASSWORD}@"), None)
    url = origin.url(f"away?to={elsewhere.url('open')}")
    result = await get(await make_fetcher(proxies=routes), url, allow_private=True)
    assert result.url == elsewhere.url("open")
    credentials = basic("desk", PROXY_PASSWORD)
    assert proxy.carried == [(url, credentials), (elsewhere.url("open"), credentials)]


def test_each_scheme_takes_its_own_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTPS_PROXY for https URLs, HTTP_PROXY for http ones (lower case names too), NO_PROXY's
    domain suffixes and host:port entries; ``defaults.proxy`` serves both schemes."""
    monkeypatch.setenv("https_proxy", "http://tls-proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".internal.example, feeds.example:8080")
    routes = ProxyRoutes.from_environment()
    assert str(getattr(routes.route("https://wire.example/f"), "proxy", None)) == (
        "http://tls-proxy.example:3128"
    )
    assert routes.route("http://wire.example/f") is None
    assert routes.route("https://a.internal.example/f") is None
    assert routes.route("https://feeds.example:8080/f") is None
    assert routes.route("https://feeds.example/f") is not None
    both = ProxyRoutes.configured("http://proxy.example:3128", None)
    assert both.route("http://wire.example/f") is not None
    assert both.route("https://a.internal.example/f") is None  # NO_PROXY still applies


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.slow
async def test_an_https_feed_goes_through_the_proxy_in_a_connect_tunnel(
    write_config: Any, certificate: tuple[Path, Path], seed_feed: bytes
) -> None:
    """HTTPS_PROXY from the environment: the daemon opens a CONNECT tunnel through the proxy
    (its credentials on the CONNECT, not inside the TLS), and the feed's bearer token reaches
    the origin inside it (the daemon trusts the test certificate through SSL_CERT_FILE)."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    origin = Origin(seed_feed)
    app = web.Application()
    app.router.add_get("/{path:.*}", origin._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/bearer"
    tunnel = await TunnelProxy().start()
    try:
        config = write_config(feeds=[{"url": url, "auth": {"type": "bearer", "token": TOKEN}}])
        proxy_url = tunnel.url.replace("://", f"://desk:{PROXY_PASSWORD}@")
        env = {"HTTPS_PROXY": proxy_url, "SSL_CERT_FILE": str(cert)}
        _, out, err = await newsmon("run", "--once", "--json", "--config", str(config), env=env)
    finally:
        await tunnel.stop()
        await runner.cleanup()
    assert json.loads(out)["feeds"] == {"ok": 1}, err
    assert tunnel.carried == [(url.split("/")[2], basic("desk", PROXY_PASSWORD))]
    [(path, headers)] = origin.seen
    assert path == "/bearer"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Proxy-Authorization" not in headers


# --- the address guard through the proxy -------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/open",
        "http://169.254.169.254/x",
        "http://[::ffff:127.0.0.2]/x",
        "https://127.0.0.2:{port}/open",  # refused before any CONNECT
    ],
)
async def test_a_private_target_is_refused_before_the_proxy_is_asked(
    make_fetcher: MakeFetcher, elsewhere: Origin, proxy: ForwardProxy, target: str
) -> None:
    """The proxy would reach anything: the guard refuses a non-public target itself."""
    url = target.format(port=elsewhere.base.rsplit(":", 1)[1])
    fetcher = await make_fetcher(proxies=ProxyRoutes.configured(proxy.url, None))
    with pytest.raises(AddressRefused, match="not a public address") as refused:
        await get(fetcher, url)
    assert refused.value.kind == "refused"
    assert proxy.carried == []
    assert elsewhere.seen == []


async def test_a_name_is_resolved_and_checked_before_the_proxy_is_asked(
    origin: Origin, proxy: ForwardProxy
) -> None:
    """With the real classifier: ``localhost`` is resolved by the guard, to loopback, and
    refused."""
    session = make_session(concurrency=2, per_host=2, user_agent=None)
    try:
        fetcher = Fetcher(session, 1024 * 1024, proxies=ProxyRoutes.configured(proxy.url, None))
        port = origin.base.rsplit(":", 1)[1]
        with pytest.raises(AddressRefused, match=r"localhost through the proxy: 127\.0\.0\.1"):
            await get(fetcher, f"http://localhost:{port}/open")
        assert proxy.carried == []
    finally:
        await session.close()


async def test_a_redirect_to_a_private_address_is_refused_through_the_proxy(
    make_fetcher: MakeFetcher, origin: Origin, elsewhere: Origin, proxy: ForwardProxy
) -> None:
    """Each hop is checked: the public feed's redirect to 127.0.0.2 never reaches the proxy."""
    url = origin.url(f"away?to={elsewhere.url('open')}")
    fetcher = await make_fetcher(proxies=ProxyRoutes.configured(proxy.url, None))
    with pytest.raises(AddressRefused, match=r"127\.0\.0\.2"):
        await get(fetcher, url)
    assert proxy.targets() == [url]
    assert elsewhere.seen == []


async def test_allow_private_reaches_a_private_target_through_the_proxy(
    make_fetcher: MakeFetcher, elsewhere: Origin, proxy: ForwardProxy
) -> None:
    fetcher = await make_fetcher(proxies=ProxyRoutes.configured(proxy.url, None))
    result = await get(fetcher, elsewhere.url("open"), allow_private=True)
    assert result.status == 200
    assert proxy.targets() == [elsewhere.url("open")]


async def test_an_unresolvable_target_is_refused_through_the_proxy(
    make_fetcher: MakeFetcher, proxy: ForwardProxy
) -> None:
    """A name the guard cannot resolve cannot be checked, so the proxy is not asked."""
    fetcher = await make_fetcher(proxies=ProxyRoutes.configured(proxy.url, None))
    with pytest.raises(FetchError, match=r"cannot resolve no-such-host\.invalid"):
        await get(fetcher, "http://no-such-host.invalid/feed")
    assert proxy.carried == []


# --- the config: what is refused, what check reports -------------------------------------------


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_bad_fetch_options_are_refused_at_their_place_without_echoing_a_secret(
    write_config: Any,
) -> None:
    path = write_config(f"""\
feeds:
  - url: https://wire.example/a
    headers: {{Host: wire.example, X-Api-Key: "{API_KEY}\\nX-Injected: 1"}}
  - url: https://wire.example/b
    headers: {{Authorization: Bearer x}}
    auth: {{type: bearer, token: {TOKEN}}}
  - url: https://desk:{PASSWORD}@wire.example/c
  - url: https://wire.example/d
    auth: {{type: digest, user: desk, password: {PASSWORD}}}
  - url: https://wire.example/e
    auth: {{type: basic, user: "a:b", password: {PASSWORD}}}
defaults:
  proxy: socks5://127.0.0.1:1080
""")
    found = problems_of(path)
    name = str(path)
    assert [p.removeprefix(name) for p in found] == [
        ":3:21: feeds[0].headers.Host: header Host cannot be set here: it is the URL's",
        ":3:46: feeds[0].headers.X-Api-Key: a header value cannot hold a line break or a NUL",
        ":4:5: feeds[1]: give either auth: or an Authorization header, not both",
        ":7:10: feeds[2].url: a feed URL cannot carry a user or password: write them in auth:",
        ":9:11: feeds[3].auth: Input tag 'digest' found using 'type' does not match any of the"
        " expected tags: 'basic', 'bearer'",
        ":11:31: feeds[4].auth.user: a basic-auth user cannot contain ':' (RFC 7617)",
        ":13:10: defaults.proxy: a proxy is an http(s) URL (http://host:port), or direct for none",
    ]
    text = "\n".join(found)
    for secret in SECRETS:
        assert secret not in text


def test_fetch_secrets_in_a_file_others_can_read_are_reported(
    write_config: Any, tmp_path: Path
) -> None:
    """Feed auth and credential headers (in the main file and in included feed files), the
    defaults' headers and the proxy's password, like the sinks' secrets; a
    ``${credential:...}`` is not written in the file, and Accept-Language is no credential."""
    (tmp_path / "wire.yaml").write_text(
        f"feeds:\n  - url: https://wire.example/inc\n    auth: {{type: bearer, token: {TOKEN}}}\n"
    )
    path = write_config(f"""\
include: wire.yaml
defaults:
  proxy: http://desk:{PROXY_PASSWORD}@proxy.example:3128
  headers: {{Accept-Language: id, X-Desk-Token: {API_KEY}}}
feeds:
  - url: https://wire.example/a
    name: Wire
    auth: {{type: basic, user: desk, password: {PASSWORD}}}
    headers: {{X-Api-Key: {API_KEY}}}
  - url: https://wire.example/b
    auth: {{type: bearer, token: '${{credential:wire-token}}'}}
""")
    path.chmod(0o644)
    (tmp_path / "wire.yaml").chmod(0o644)
    found = [str(p).split(" is written")[0] for p in secret_problems(path)]
    assert found == [
        f"{path}:3:10: the proxy URL's password",
        f"{path}:4:48: defaults: header X-Desk-Token",
        f"{path}:8:47: feed 'Wire': auth password",
        f"{path}:9:26: feed 'Wire': header X-Api-Key",
        f"{tmp_path / 'wire.yaml'}:3:33: feed 'wire.example': auth token",
    ]
    path.chmod(0o600)
    (tmp_path / "wire.yaml").chmod(0o600)
    assert secret_problems(path) == []


def test_a_reload_applies_headers_and_user_agent_and_names_the_proxy_for_a_restart() -> None:
    """Feed policies are resolved again on reload, so the request options change with it; the
    proxy belongs to the session, which lives until the next start."""
    feeds = [{"url": "https://wire.example/f"}]
    old = Settings.model_validate({"feeds": feeds})
    new = Settings.model_validate(
        {"defaults": {"user_agent": "Desk/2", "proxy": "http://proxy.example:3128"}, "feeds": feeds}
    )
    assert restart_needed(old, new) == ["defaults.proxy"]
    assert feed_policies(new)["https://wire.example/f"].request.user_agent == "Desk/2"


# --- the daemon: wired through, and never telling ----------------------------------------------


async def test_the_daemon_fetches_with_the_feeds_auth_through_the_configured_proxy(
    write_config: Any, origin: Origin, proxy: ForwardProxy, receiver: Receiver, clock: FakeClock
) -> None:
    config = write_config(
        defaults={"proxy": proxy.url, "backfill": "all"},
        feeds=[
            {
                "url": origin.url("basic"),
                "auth": {"type": "basic", "user": "desk", "password": PASSWORD},
            }
        ],
        rules=[rule("belarus", "Belarus*")],
        sinks={"hook": webhook(receiver.url, retries=[])},
    )
    summary = await run_once(config, clock)
    assert summary.feeds == {"ok": 1}
    assert proxy.targets() == [origin.url("basic")]
    assert [path for path, _ in origin.seen] == ["/basic"]
    assert len(receiver.requests) == 1


@pytest.mark.slow
async def test_no_fetch_secret_appears_in_any_output_of_a_failing_run(
    write_config: Any, tmp_path: Path, origin: Origin, elsewhere: Origin
) -> None:
    """A wrong password (401), a refused connection with a key header, and a dead proxy with a
    password: the debug log, the summary and the commands' output never carry a secret."""
    feeds = [
        {
            "url": origin.url("basic"),
            "auth": {"type": "basic", "user": "desk", "password": "wrong-" + PASSWORD},
        },
        {"url": "http://127.0.0.1:9/feed", "headers": {"X-Api-Key": API_KEY}},
        {"url": elsewhere.url("bearer"), "auth": {"type": "bearer", "token": TOKEN}},
    ]
    config = write_config(
        defaults={"proxy": f"http://desk:{PROXY_PASSWORD}@127.0.0.3:9", "no_proxy": ["127.0.0.1"]},
        feeds=feeds,
    )
    _, out, err = await newsmon(
        "run", "--once", "--json", "--log-level", "debug", "--config", str(config)
    )
    assert json.loads(out)["feeds"] == {"error": 3}, err
    outputs = [out, err]
    for command in (
        ["check"],
        ["feeds"],
        ["--json", "feeds"],
        ["status", "--json"],
        ["feeds", "export"],
    ):
        _, out, err = await newsmon(*command, "--config", str(config))
        outputs += [out, err]
    text = "\n".join(outputs)
    assert "HTTP 401" in text
    assert "127.0.0.3:9" in text  # the dead proxy is named, its password is not
    for secret in (*SECRETS, "wrong-" + PASSWORD):
        assert secret not in text


async def test_a_failing_fetch_logs_no_secret(
    write_config: Any, origin: Origin, clock: FakeClock
) -> None:
    """In-process, the captured log events of a 401 and a timeout through a dead proxy."""
    config = write_config(
        defaults={"proxy": f"http://desk:{PROXY_PASSWORD}@127.0.0.3:9", "no_proxy": ["127.0.0.1"]},
        feeds=[
            {"url": origin.url("key"), "headers": {"X-Api-Key": "not-" + API_KEY}},
            {"url": "http://127.0.0.2:9/feed", "auth": {"type": "bearer", "token": TOKEN}},
        ],
    )
    with capture_logs() as events:
        summary = await run_once(config, clock)
    assert summary.feeds == {"error": 2}
    text = repr(events)
    assert "HTTP 401" in text
    for secret in (*SECRETS, "not-" + API_KEY):
        assert secret not in text
