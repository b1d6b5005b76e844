"""Several real ``newsmon run`` processes on one PostgreSQL: starting together, node records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store.engine import database_url
from tests.conftest import FeedServer, Receiver
from tests.nodes import Node, start_node, stop_node, until_started

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONFIG = """\
state: {state}
node_id: {node}
defaults:
  interval: 30s
  allow_private: true
feeds:
{feeds}
rules:
  - id: belarus
    query: 'Belarus'
sinks:
  hook:
    type: webhook
    url: {hook}
"""

BODY = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
    b"<item><title>Belarus</title><link>https://news.example/1</link><guid>1</guid></item>"
    b"</channel></rss>"
)


def node_configs(
    tmp_path: Path, state: str, urls: list[str], hook: str, count: int, **extra: str
) -> list[Path]:
    paths = []
    for n in range(count):
        path = tmp_path / f"node{n}.yaml"
        text = CONFIG.format(
            state=state,
            node=f"node-{n}",
            feeds="\n".join(f"  - url: {url}" for url in urls),
            hook=hook,
        )
        path.write_text(text + "".join(f"{k}: {v}\n" for k, v in extra.items()), encoding="utf-8")
        paths.append(path)
    return paths


async def scalar(state: str, sql: str) -> object:
    engine = create_async_engine(database_url(state))
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql))).scalar()
    finally:
        await engine.dispose()


async def test_three_nodes_started_at_once_on_a_new_database_all_start(
    pg_state: str, tmp_path: Path, feeds: FeedServer, receiver: Receiver
) -> None:
    urls = [feeds.set(f"f{i}.xml", BODY) for i in range(300)]
    configs = node_configs(tmp_path, pg_state, urls, receiver.url, 3)
    nodes: list[Node] = []
    for _round in range(2):  # a new database, then one every node migrated already
        nodes = await asyncio.gather(*(start_node(config) for config in configs))
        await asyncio.gather(*(until_started(node) for node in nodes))
        codes = [
            await stop_node(node) if node.proc.returncode is None else node.proc.returncode
            for node in nodes
        ]
        for node, code in zip(nodes, codes, strict=True):
            assert node.started.is_set(), node.stderr[-3000:]
            assert code == 0, node.stderr[-3000:]
            assert "UniqueViolation" not in node.stderr
    assert await scalar(pg_state, "SELECT count(*) FROM feeds") == 300
    assert await scalar(pg_state, "SELECT count(DISTINCT url) FROM feeds") == 300
    assert await scalar(pg_state, "SELECT count(*) FROM alembic_version") == 1
