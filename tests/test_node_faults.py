"""Three real nodes on one PostgreSQL through faults: a node SIGKILLed (its work taken over after
the lease), every connection terminated, and the database unreachable for longer than the lease
(a TCP proxy of the test's own between the nodes and PostgreSQL is cut and refuses connections).
Every alert arrives; each (sink, rule, story) has one outbox row; a duplicate delivery carries an
id already received. Leases and heartbeats are shortened so the whole test takes well under a
minute.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL, WEBHOOK_SECRET, FeedServer, Receiver, _pg_admin
from tests.nodes import Node, TcpProxy, kill_node, start_node, stop_node, until_started
from tests.test_nodes import scalar

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TIMEOUT = aiohttp.ClientTimeout(2)
FEEDS = 120
FIRST = 2  # items per feed at the start
WAVES = 8  # then, every second, one more item on WAVE_FEEDS feeds
WAVE_FEEDS = 30

CONFIG = """\
state: {state}
node_id: {node}
defaults:
  interval: 1s
  min_interval: 1s
  timeout: 5s
  parse_timeout: 5s
  backfill: all
  allow_private: true
nodes:
  heartbeat: 0.5s
  lease: 3s
  gone_after: 3s
http:
  listen: 127.0.0.1:{port}
feeds:
{feeds}
rules:
  - id: belarus
    query: 'Belarus'
sinks:
  hook:
    type: webhook
    url: {hook}
    secret: {secret}
"""


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


async def test_three_nodes_lose_and_double_no_alert_through_kills_and_cut_connections(
    pg_state: str, tmp_path: Path, feeds: FeedServer, receiver: Receiver
) -> None:
    rng = random.Random(13)
    items = dict.fromkeys(range(FEEDS), FIRST)
    urls = [feeds.set(f"f{i}.xml", body(i, FIRST)) for i in range(FEEDS)]
    proxy = TcpProxy("127.0.0.1", int(PG_URL.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    db = pg_state.rsplit("/", 1)[1]
    via_proxy = f"postgresql://postgres@127.0.0.1:{proxy.port}/{db}"
    ports = [free_port() for _ in range(3)]
    configs = []
    for n in range(3):
        path = tmp_path / f"node{n}.yaml"
        path.write_text(
            CONFIG.format(
                state=via_proxy,
                node=f"node-{n}",
                port=ports[n],
                feeds="\n".join(f"  - url: {url}" for url in urls),
                hook=receiver.url,
                secret=WEBHOOK_SECRET,
            ),
            encoding="utf-8",
        )
        configs.append(path)
    nodes: list[Node] = await asyncio.gather(*(start_node(c) for c in configs))
    events: dict[str, float] = {}
    try:
        assert all(await asyncio.gather(*(until_started(n) for n in nodes))), [
            n.stderr[-2000:] for n in nodes
        ]
        began = time.monotonic()
        for wave in range(WAVES):
            for feed in rng.sample(range(FEEDS), WAVE_FEEDS):
                items[feed] += 1
                feeds.set(f"f{feed}.xml", body(feed, items[feed]))
            if wave == 1:
                await kill_node(nodes[1])  # its leases run out; the others take its work
                events["kill"] = time.monotonic() - began
            if wave == 3:
                await _pg_admin(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{db}' AND pid <> pg_backend_pid()"
                )
                events["terminate"] = time.monotonic() - began
            if wave == 4:  # unreachable for longer than the lease
                proxy.down = True
                proxy.cut()
                events["down"] = time.monotonic() - began
                assert await until(readyz(ports[0], 503), 5)
                await asyncio.sleep(4.5)
                proxy.down = False
                events["up"] = time.monotonic() - began
                assert await until(readyz(ports[0], 200), 10)
            await asyncio.sleep(1)
        expected = sum(items.values())

        async def all_received() -> bool:
            return len(set(receiver.ids())) >= expected

        assert await until(all_received, 45, 0.25), (len(set(receiver.ids())), expected)

        async def all_settled() -> bool:
            left = await scalar(pg_state, "SELECT count(*) FROM alerts WHERE state <> 'delivered'")
            return left == 0

        assert await until(all_settled, 15, 0.25)
    finally:
        codes = [await stop_node(n) for n in nodes if n.proc.returncode is None]
        await proxy.stop()
    assert codes == [0, 0]
    ids = receiver.ids()
    stored = await _ids(pg_state)
    assert len(stored) == expected  # one outbox row per story
    assert set(ids) == stored  # every alert received, nothing else
    duplicates = len(ids) - len(set(ids))
    print(
        f"\nnode faults: {expected} alerts, {len(ids)} deliveries, {duplicates} duplicates, "
        f"{events}"
    )
    for table in ("feeds", "alerts"):  # the killed node's leases were all taken over
        assert (
            await scalar(pg_state, f"SELECT count(*) FROM {table} WHERE lease_owner = 'node-1'")
            == 0
        )
    for node in (nodes[0], nodes[2]):
        assert node.named("node.heartbeat_failed"), "the outage was seen"
        assert node.named("node.store_back")


async def _ids(state: str) -> set[str]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from monitor.store.engine import database_url

    engine = create_async_engine(database_url(state))
    try:
        async with engine.connect() as conn:
            return set((await conn.execute(sa.text("SELECT id FROM alerts"))).scalars())
    finally:
        await engine.dispose()
