"""Shared fixtures: loopback HTTP servers for feeds and webhooks, an injected clock, state DBs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from monitor.app.daemon import Daemon, OnceSummary
from monitor.config import LoadedConfig, load_config
from monitor.store import Store
from monitor.store.schema import metadata
from tests import configs
from tests.bounds import pytest_collection_modifyitems, pytest_configure  # noqa: F401 (hooks)
from tests.configs import WEBHOOK_SECRET
from tests.evil_server import EvilServer

DATA = Path(__file__).parent / "data"
PG_URL = os.environ.get("NEWSMON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def seed_feed() -> bytes:
    return (DATA / "seed-feed.xml").read_bytes()


@pytest.fixture(scope="session")
def seed_article() -> str:
    return (DATA / "seed-article.txt").read_text(encoding="utf-8")


# --- clock -------------------------------------------------------------------------------------


class FakeClock:
    """An injected clock: time moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --- loopback servers --------------------------------------------------------------------------


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True


class FeedServer:
    """Serves feed bodies on 127.0.0.1, honours ETags, and records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{path:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def set(self, path: str, body: bytes, **route: Any) -> str:
        self.routes[path.lstrip("/")] = Route(body, **route)
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path.lstrip("/")]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.requests.append((path, dict(request.headers)))
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404)
        headers = dict(route.headers)
        if route.etag and route.status == 200:
            etag = f'"{uuid.uuid5(uuid.NAMESPACE_OID, route.body.hex()).hex[:16]}"'
            headers["ETag"] = etag
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
        headers.setdefault("Content-Type", "application/rss+xml; charset=utf-8")
        return web.Response(status=route.status, body=route.body, headers=headers)


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """A webhook receiver on 127.0.0.1 that records deliveries and answers as scripted.

    Every POST to ``/hook`` must be signed: it is verified with the ``standardwebhooks`` package
    (the spec authors' verifier), once per secret in ``secrets``, and a missing signature or a
    failed check is recorded; the fixtures fail the test on one. A test that sends unsigned on
    purpose sets ``unsigned = True``. Every request, whatever its method or path, is also
    recorded in ``requests``.
    """

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.script: deque[int | tuple[int, dict[str, str]] | str] = deque()
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.secrets: tuple[str, ...] = (WEBHOOK_SECRET,)
        self.unsigned = False
        self.verify_errors: list[str] = []
        self.release = asyncio.Event()
        self.delay = 0.0  # seconds each answer takes

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
            self.runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, *statuses: int | tuple[int, dict[str, str]] | str) -> None:
        """Answer the next requests with these statuses (then 204 again); "hang" never answers
        (until ``release`` is set)."""
        self.script.extend(statuses)

    def verify(self, delivery: Delivery) -> None:
        from standardwebhooks import Webhook, WebhookVerificationError

        if self.unsigned:
            return
        msg_id = delivery.headers.get("webhook-id")
        if "webhook-signature" not in delivery.headers:
            self.verify_errors.append(f"{msg_id}: unsigned")
            return
        for secret in self.secrets:
            try:
                Webhook(secret).verify(delivery.body, delivery.headers)
            except WebhookVerificationError as e:
                self.verify_errors.append(f"{msg_id}: {e}")

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if (request.method, request.path) != ("POST", "/hook"):
            return web.Response(status=404)
        delivery = Delivery(dict(request.headers), await request.read())
        self.deliveries.append(delivery)
        self.verify(delivery)
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.script.popleft() if self.script else 204
        if answer == "hang":
            await self.release.wait()
            answer = 204
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return web.Response(status=status, headers=headers)

    def ids(self) -> list[str]:
        return [d.id for d in self.deliveries]


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    server = FeedServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def evil(seed_feed: bytes) -> AsyncIterator[EvilServer]:
    """The fault-injecting server (tests/evil_server.py), on 127.0.0.1 and 127.0.0.2."""
    server = EvilServer(seed_feed)
    await server.start()
    yield server
    await server.stop()


ReceiverFactory = Callable[[], Awaitable[Receiver]]


@pytest.fixture
async def make_receiver() -> AsyncIterator[ReceiverFactory]:
    """Start receivers on demand; at the end each one must have verified every delivery."""
    started: list[Receiver] = []

    async def make() -> Receiver:
        server = Receiver()
        await server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.release.set()
        await server.stop()
    errors = [error for server in started for error in server.verify_errors]
    assert errors == [], "a delivery failed Standard Webhooks verification"


@pytest.fixture
async def receiver(make_receiver: ReceiverFactory) -> Receiver:
    return await make_receiver()


# --- state databases ---------------------------------------------------------------------------


def _sync(coro: Any) -> Any:
    """Run a coroutine to completion from synchronous fixture code, on a private loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_available() -> bool:
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_URL), 3)
    except (OSError, TimeoutError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_available() -> bool:
    available: bool = _sync(_pg_available())
    if not available and os.environ.get("NEWSMON_TEST_PG_REQUIRED"):
        pytest.fail(
            f"PostgreSQL is required (NEWSMON_TEST_PG_REQUIRED) but {PG_URL} is unreachable"
        )
    return available


@pytest.fixture
def pg_state(pg_available: bool) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not pg_available:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"newsmon_test_{uuid.uuid4().hex[:12]}"
    _sync(_pg_admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_URL.rpartition("/")
    yield f"{base}/{name}"
    _sync(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A state URL: SQLite in a temp dir, and the same test again on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'newsmon.db'}"
    url: str = request.getfixturevalue("pg_state")
    return url


# --- configs and runs --------------------------------------------------------------------------


@pytest.fixture
def write_config(tmp_path: Path) -> Any:
    """``write_config(feeds=..., rules=..., sinks=..., **sections)`` writes a config in
    ``tmp_path`` (:func:`tests.configs.write_config`); ``write_config(text)`` writes YAML text
    as it is, for the tests of the loader."""

    def write(text: str | None = None, name: str = "newsmon.yaml", **config: Any) -> Path:
        if text is None:
            return configs.write_config(tmp_path, name=name, **config)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)  # configs hold secrets: newsmon refuses them readable by others
        return path

    return write


async def run_once(config: Path | LoadedConfig, clock: FakeClock, **options: Any) -> OnceSummary:
    """One ``run --once`` pass in-process, as a fresh daemon (a restart each time)."""
    loaded = config if isinstance(config, LoadedConfig) else load_config(config)
    options.setdefault("parse_pool", None)
    async with Daemon(loaded, clock=clock, **options) as daemon:
        return await daemon.run_once()


async def count_rows(store: Store, table: str, **where: Any) -> int:
    """Rows in one of the store's tables matching column equalities."""
    t = metadata.tables[table]
    query = sa.select(sa.func.count()).select_from(t)
    for column, value in where.items():
        query = query.where(t.c[column] == value)
    async with store.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())
