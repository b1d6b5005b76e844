"""Several real ``newsmon run`` processes on one PostgreSQL: starting together, node records."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store.engine import database_url
from tests.configs import rule, write_config
from tests.conftest import FeedServer, Receiver
from tests.nodes import Node, kill_node, start_node, stop_node, until_started

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BODY = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
    b"<item><title>Belarus</title><link>https://news.example/1</link><guid>1</guid></item>"
    b"</channel></rss>"
)


BELARUS = rule("belarus", "Belarus")


def node_configs(
    tmp_path: Path,
    state: str,
    urls: list[str],
    hook: str,
    count: int,
    per_node: Callable[[int], dict[str, Any]] = lambda n: {},
) -> list[Path]:
    """Node ``n``'s config: the shared feeds, rule and sink, and what ``per_node(n)`` gives."""
    configs = []
    for n in range(count):
        parts: dict[str, Any] = {"defaults": {"interval": "30s"}, "rules": [BELARUS]}
        parts.update(per_node(n))
        configs.append(
            write_config(
                tmp_path,
                name=f"node{n}.yaml",
                state=state,
                node_id=f"node-{n}",
                feeds=urls,
                sinks={"hook": {"type": "webhook", "url": hook}},
                **parts,
            )
        )
    return configs


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


async def newsmon_nodes(config: Path, *args: str, command: str = "nodes", code: int = 0) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", command, "--config", str(config), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == code, err.decode()
    return out.decode()


async def test_nodes_lists_the_live_nodes_and_flags_the_one_whose_config_differs(
    pg_state: str, tmp_path: Path, feeds: FeedServer, receiver: Receiver
) -> None:
    urls = [feeds.set(f"f{i}.xml", BODY) for i in range(20)]
    beats = {"heartbeat": "0.3s", "gone_after": "2s"}

    def differences(n: int) -> dict[str, Any]:
        parts: dict[str, Any] = {"nodes": beats}
        if n == 2:  # another rule: a config that differs
            parts["rules"] = [rule("minsk", "Minsk"), BELARUS]
        if n == 1:  # node-local settings only: the same config
            parts["defaults"] = {"interval": "30s", "parse_workers": 1}
        return parts

    configs = node_configs(tmp_path, pg_state, urls, receiver.url, 3, differences)
    nodes = await asyncio.gather(*(start_node(config) for config in configs))
    try:
        assert all(await asyncio.gather(*(until_started(n) for n in nodes)))
        await asyncio.sleep(2.0)  # several heartbeats
        rows = {row["id"]: row for row in json.loads(await newsmon_nodes(configs[0], "--json"))}
        assert set(rows) == {"node-0", "node-1", "node-2"}
        assert {k: (r["state"], r["config_differs"]) for k, r in rows.items()} == {
            "node-0": ("live", False),
            "node-1": ("live", False),
            "node-2": ("live", True),
        }
        assert [rows[f"node-{n}"]["pid"] for n in range(3)] == [n.proc.pid for n in nodes]
        assert all(r["host"] == socket.gethostname() for r in rows.values())
        text = await newsmon_nodes(configs[0])
        assert "DIFFERS" in text
        assert "config differs from the other nodes': node-2" in text
        # Warned once each, though every heartbeat sees the difference.
        assert [e["nodes"] for e in nodes[0].named("nodes.config_differs")] == [["node-2"]]
        assert len(nodes[2].named("nodes.config_differs")) == 1
        # A config edit that does not load: node-0 keeps running, and says so in its row.
        with configs[0].open("a", encoding="utf-8") as f:
            f.write("bogus: [\n")
        await asyncio.sleep(2.0)
        rows = {row["id"]: row for row in json.loads(await newsmon_nodes(configs[1], "--json"))}
        assert rows["node-0"]["reload_ok"] is False
        assert rows["node-0"]["reload_at"] is not None
        assert re.match(rf"{re.escape(str(configs[0]))}:\d+:\d+: ", rows["node-0"]["reload_error"])
        assert rows["node-1"]["reload_at"] is None
        assert "failed" in await newsmon_nodes(configs[1])
        # newsmon status shows the nodes and the last reload, and asks for attention.
        out = await newsmon_nodes(configs[1], "--json", command="status", code=1)
        report = json.loads(out)
        assert {n["id"]: n["state"] for n in report["nodes"]} == dict.fromkeys(rows, "live")
        assert (report["last_reload"]["node"], report["last_reload"]["ok"]) == ("node-0", False)
        assert any(
            r.startswith("node node-0: the last config reload failed") for r in report["attention"]
        )
        assert "node node-2 runs a config that differs from the other nodes'" in report["attention"]
        text = await newsmon_nodes(configs[1], command="status", code=1)
        assert "on node-0, failed: " in text
        assert [line.split()[:2] for line in text.splitlines() if line.startswith("node-")] == [
            ["node-0", "live"], ["node-1", "live"], ["node-2", "live"],
        ]  # fmt: skip
        await kill_node(nodes[2])
        await asyncio.sleep(2.5)
        rows = {row["id"]: row for row in json.loads(await newsmon_nodes(configs[1], "--json"))}
        assert rows["node-2"]["state"] == "gone"
        assert not any(r["config_differs"] for r in rows.values())
    finally:
        codes = [await stop_node(n) for n in nodes if n.proc.returncode is None]
    assert codes == [0, 0]
