"""Three real nodes on one PostgreSQL through faults: a node SIGKILLed (its work taken over after
the lease), every connection terminated, and the database unreachable for longer than the lease
(a TCP proxy of the test's own between the nodes and PostgreSQL is cut and refuses connections).
Every alert arrives; each (sink, rule, story) has one outbox row; a duplicate delivery carries an
id already received. Leases and heartbeats are shortened so the whole test takes well under a
minute.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import sqlalchemy as sa

from tests.configs import rule, webhook, write_config
from tests.conftest import PG_URL, FeedServer, Receiver
from tests.nodes import (
    Node,
    OwnPostgres,
    TcpProxy,
    kill_node,
    start_node,
    stop_node,
    until_started,
)
from tests.test_nodes import scalar

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TIMEOUT = aiohttp.ClientTimeout(2)
FEEDS = 120
FIRST = 2  # items per feed at the start
WAVES = 8  # then, every second, one more item on WAVE_FEEDS feeds
WAVE_FEEDS = 30


@pytest.fixture
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    server = OwnPostgres()
    if not server.available():
        pytest.skip("initdb, pg_ctl or a postgres system user is missing")
    await server.create()
    yield server
    await server.destroy()


NODE_DEFAULTS = {
    "interval": "1s",
    "min_interval": "1s",
    "timeout": "5s",
    "parse_timeout": "5s",
    "backfill": "all",
}
NODE_TIMING = {"heartbeat": "0.5s", "lease": "3s", "gone_after": "3s"}


def body(feed: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Belarus kabar {feed}-{n}</title>"
        f"<link>https://news{feed}.example/{n}</link><guid>n{feed}-{n}</guid>"
        f"<description>Minsk {feed} nomor {n} soal Belarus.</description></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{feed}</title>'
        f"{entries}</channel></rss>"
    ).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def readyz(port: int, status: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/readyz", timeout=TIMEOUT) as r,
            ):
                return r.status == status
        except (aiohttp.ClientError, TimeoutError):
            return False

    return check


async def until(
    predicate: Callable[[], Awaitable[bool]], timeout: float, step: float = 0.1
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(step)
    return False


@dataclass
class Farm:
    """The feeds, their items so far, and the webhook receiver."""

    feeds: FeedServer
    receiver: Receiver
    count: int
    items: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.items = dict.fromkeys(range(self.count), FIRST)
        self.urls = [self.feeds.set(f"f{i}.xml", body(i, FIRST)) for i in range(self.count)]

    def arrive(self, rng: random.Random, how_many: int) -> None:
        for feed in rng.sample(range(self.count), how_many):
            self.items[feed] += 1
            self.feeds.set(f"f{feed}.xml", body(feed, self.items[feed]))


def write_configs(
    tmp_path: Path, state: str, farm: Farm, ports: list[int], interval: str
) -> list[Path]:
    return [
        write_config(
            tmp_path,
            name=f"node{n}.yaml",
            state=state,
            node_id=f"node-{n}",
            defaults={**NODE_DEFAULTS, "interval": interval},
            nodes=NODE_TIMING,
            http={"listen": f"127.0.0.1:{port}"},
            feeds=farm.urls,
            rules=[rule("belarus", "Belarus")],
            sinks={"hook": webhook(farm.receiver.url)},
        )
        for n, port in enumerate(ports)
    ]


async def terminate_all(admin_url: str, db: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            db,
        )
    finally:
        await conn.close()


async def scenario(
    tmp_path: Path,
    farm: Farm,
    *,
    state: str,
    check_state: str,
    terminate: Callable[[], Awaitable[None]],
    outage: Callable[[], Awaitable[None]],
    restore: Callable[[], Awaitable[None]],
    interval: str = "1s",
    wave_feeds: int = WAVE_FEEDS,
) -> None:
    """Three nodes; items arrive in waves; a kill, a termination of every connection, and an
    outage longer than the lease; then every alert must arrive, none doubled but by id."""
    rng = random.Random(13)
    ports = [free_port() for _ in range(3)]
    configs = write_configs(tmp_path, state, farm, ports, interval)
    nodes: list[Node] = await asyncio.gather(*(start_node(c) for c in configs))
    events: dict[str, float] = {}
    receiver = farm.receiver
    try:
        assert all(await asyncio.gather(*(until_started(n) for n in nodes))), [
            n.stderr[-2000:] for n in nodes
        ]
        began = time.monotonic()
        for wave in range(WAVES):
            farm.arrive(rng, wave_feeds)
            if wave == 1:
                await kill_node(nodes[1])  # its leases run out; the others take its work
                events["kill"] = time.monotonic() - began
            if wave == 3:
                await terminate()
                events["terminate"] = time.monotonic() - began
            if wave == 4:  # unreachable for longer than the lease
                await outage()
                events["down"] = time.monotonic() - began
                assert await until(readyz(ports[0], 503), 5)
                await asyncio.sleep(4.5)
                await restore()
                events["up"] = time.monotonic() - began
                assert await until(readyz(ports[0], 200), 15)
            await asyncio.sleep(1)
        expected = sum(farm.items.values())

        async def all_received() -> bool:
            return len(set(receiver.ids())) >= expected

        assert await until(all_received, 60, 0.25), (len(set(receiver.ids())), expected)

        async def all_settled() -> bool:
            sql = "SELECT count(*) FROM alerts WHERE state <> 'delivered'"
            return await scalar(check_state, sql) == 0

        assert await until(all_settled, 15, 0.25)
    finally:
        codes = [await stop_node(n) for n in nodes if n.proc.returncode is None]
    assert codes == [0, 0]
    ids = receiver.ids()
    stored = await _ids(check_state)
    assert len(stored) == expected  # one outbox row per story
    assert set(ids) == stored  # every alert received, nothing else
    duplicates = len(ids) - len(set(ids))
    print(
        f"\nnode faults: {farm.count} feeds, {expected} alerts, {len(ids)} deliveries, "
        f"{duplicates} duplicates, {events}"
    )
    for table in ("feeds", "alerts"):  # the killed node's leases were all taken over
        sql = f"SELECT count(*) FROM {table} WHERE lease_owner = 'node-1'"
        assert await scalar(check_state, sql) == 0
    for node in (nodes[0], nodes[2]):
        assert node.named("node.heartbeat_failed"), "the outage was seen"
        assert node.named("node.store_back")


async def test_three_nodes_lose_and_double_no_alert_through_kills_and_cut_connections(
    pg_state: str, tmp_path: Path, feeds: FeedServer, receiver: Receiver
) -> None:
    """The database made unreachable by a TCP proxy of the test's own (the shared server is
    never stopped)."""
    proxy = TcpProxy("127.0.0.1", int(PG_URL.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    db = pg_state.rsplit("/", 1)[1]

    async def outage() -> None:
        proxy.down = True
        proxy.cut()

    async def restore() -> None:
        proxy.down = False

    try:
        await scenario(
            tmp_path,
            Farm(feeds, receiver, FEEDS),
            state=f"postgresql://postgres@127.0.0.1:{proxy.port}/{db}",
            check_state=pg_state,
            terminate=lambda: terminate_all(PG_URL, db),
            outage=outage,
            restore=restore,
        )
    finally:
        await proxy.stop()


async def test_500_feeds_on_three_nodes_through_a_postgresql_restart(
    own_postgres: OwnPostgres, tmp_path: Path, feeds: FeedServer, receiver: Receiver
) -> None:
    """PostgreSQL itself stopped for longer than the lease and started again (a server of the
    test's own, in a temporary directory)."""
    await scenario(
        tmp_path,
        Farm(feeds, receiver, 500),
        state=own_postgres.url,
        check_state=own_postgres.url,
        terminate=lambda: terminate_all(own_postgres.url, "postgres"),
        outage=own_postgres.stop,
        restore=own_postgres.start,
        interval="2s",
        wave_feeds=60,
    )


async def _ids(state: str) -> set[str]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from monitor.store.engine import database_url

    engine = create_async_engine(database_url(state))
    try:
        async with engine.connect() as conn:
            return set((await conn.execute(sa.text("SELECT id FROM alerts"))).scalars())
    finally:
        await engine.dispose()


SOAK_KILLS = int(os.environ.get("NEWSMON_NODE_KILLS", "0"))


@pytest.mark.skipif(not SOAK_KILLS, reason="a soak: NEWSMON_NODE_KILLS=200 to run it")
async def test_chaos_soak_sigkills_spread_over_three_nodes(
    pg_state: str, tmp_path: Path, feeds: FeedServer, receiver: Receiver
) -> None:
    """``NEWSMON_NODE_KILLS=200 pytest -s tests/test_node_faults.py -k soak``: that many
    SIGKILLs at random moments, spread over three nodes each started again at once, with alerts
    arriving all along; then every alert must be delivered."""
    seed = os.environ.get("NEWSMON_NODE_SEED") or str(random.randrange(10**9))
    rng = random.Random(seed)
    farm = Farm(feeds, receiver, 60)
    configs = write_configs(tmp_path, pg_state, farm, [free_port() for _ in range(3)], "1s")
    nodes: list[Node] = list(await asyncio.gather(*(start_node(c) for c in configs)))
    kills: Counter[int] = Counter()
    began = time.monotonic()
    try:
        for kill in range(SOAK_KILLS):
            if kill % 3 == 0:
                farm.arrive(rng, 10)
            victim = rng.randrange(3)
            await asyncio.sleep(rng.uniform(0.05, 1.5))
            await kill_node(nodes[victim])
            kills[victim] += 1
            nodes[victim] = await start_node(configs[victim])
        expected = sum(farm.items.values())

        async def all_received() -> bool:
            return len(set(receiver.ids())) >= expected

        received = await until(all_received, 120, 0.25)
        assert received, (
            len(set(receiver.ids())),
            expected,
            [n.proc.returncode for n in nodes],
            await scalar(pg_state, "SELECT count(*) FROM alerts"),
            await scalar(pg_state, "SELECT count(*) FROM feeds WHERE consecutive_failures > 0"),
            await scalar(pg_state, "SELECT count(*) FROM entries"),
            await scalar(pg_state, "SELECT count(DISTINCT story_id) FROM entries"),
            await scalar(pg_state, "SELECT count(*) FROM matches"),
        )

        async def all_settled() -> bool:
            sql = "SELECT count(*) FROM alerts WHERE state <> 'delivered'"
            return await scalar(pg_state, sql) == 0

        assert await until(all_settled, 30, 0.25)
    finally:
        for node in nodes:
            if node.proc.returncode is None:
                await stop_node(node)
    ids = receiver.ids()
    stored = await _ids(pg_state)
    lost = stored - set(ids)
    duplicates = Counter(ids) - Counter(set(ids))
    print(
        f"\nchaos soak (seed {seed}): {SOAK_KILLS} SIGKILLs {dict(kills)} in "
        f"{time.monotonic() - began:.0f} s; alerts created {len(stored)}, expected {expected}, "
        f"delivered {len(set(ids))}, lost {len(lost)}, deliveries {len(ids)}, duplicates "
        f"{sum(duplicates.values())} (ids {sorted(duplicates)[:10]})"
    )
    assert not lost
    assert len(stored) == expected
    assert set(ids) <= stored
