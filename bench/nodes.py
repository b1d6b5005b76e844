"""Benchmark: the daemon's steady state with 1, 2 and 3 nodes on one PostgreSQL.

Each round creates a fresh database, starts N ``newsmon run`` processes on F loopback feeds
(ETags: the steady state is 304s), spread over 100 loopback hosts, with a 1 s interval, so
the nodes are saturated and the polls per second they reach is their capacity (a node claims
at most ``defaults.concurrency`` feeds per 1 s tick: ``--concurrency``). After a warm-up, it
counts over a window the feed requests served, and what PostgreSQL spent: transactions
(``pg_stat_database``), and the connections the nodes held.

    python bench/nodes.py --feeds 2000 --nodes 1,2,3 [--window 20] [--pg postgresql://...]

Caveat: on one machine the nodes, the feed server and PostgreSQL share its cores; with 2 cores
this measures contention, not scale. Size nodes from the 1-node figures and the per-poll cost.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

CONFIG = """\
state: {state}
node_id: bench-{node}
defaults:
  interval: 1s
  min_interval: 1s
  timeout: 30s
  concurrency: {concurrency}
  allow_private: true
  full_text: never  # the farm's entries link to hosts that serve no article pages
rules:
  - id: sanksi
    query: 'sanksi OR embargo'
sinks:
  log: {{type: log}}
feeds:
{feeds}
"""
HOSTS = 100
BODY = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title><language>id</language>'
    b"<item><title>Berita</title><link>https://news.example/1</link><guid>1</guid>"
    b"<description>pemerintah membahas anggaran</description></item></channel></rss>"
)


def serve(port_queue: Any, served: Any) -> None:
    async def handle(request: web.Request) -> web.Response:
        with served.get_lock():
            served.value += 1
        headers = {"Content-Type": "application/rss+xml", "ETag": '"1"'}
        if request.headers.get("If-None-Match") == '"1"':
            return web.Response(status=304, headers=headers)
        return web.Response(body=BODY, headers=headers)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{feed}.xml", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for n in range(HOSTS):  # 127.0.0.2 and on stand for other hosts
            await web.TCPSite(runner, f"127.0.0.{2 + n}", 0, backlog=4096).start()
        port_queue.put([address[:2] for address in runner.addresses])
        await asyncio.Event().wait()

    asyncio.run(main())


async def pg(url: str, sql: str, *args: Any) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def round_(
    args: argparse.Namespace, hosts: list[tuple[str, int]], served: Any, count: int
) -> str:
    base, _, _ = args.pg.rpartition("/")
    db = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
    await pg(args.pg, f'CREATE DATABASE "{db}"')
    state = f"{base}/{db}"
    feeds = "\n".join(
        "  - url: http://{}:{}/feed/{}.xml".format(*hosts[i % len(hosts)], i)
        for i in range(args.feeds)
    )
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for n in range(count):
                path = Path(tmp) / f"node{n}.yaml"
                path.write_text(
                    CONFIG.format(state=state, node=n, feeds=feeds, concurrency=args.concurrency)
                )
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "monitor",
                        "run",
                        "--config",
                        str(path),
                        "--log-level",
                        "error",
                        stderr=asyncio.subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
            await asyncio.sleep(args.warmup)
            commits = "SELECT xact_commit FROM pg_stat_database WHERE datname = $1"
            backends = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
            before_polls, before_tx = served.value, await pg(args.pg, commits, db)
            started = time.monotonic()
            connections = []
            while time.monotonic() - started < args.window:
                await asyncio.sleep(1)
                connections.append(await pg(args.pg, backends, db))
            elapsed = time.monotonic() - started
            polls = served.value - before_polls
            tx = await pg(args.pg, commits, db) - before_tx - len(connections) - 1
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                await proc.wait()
            await pg(args.pg, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return (
        f"{count} node(s): {polls / elapsed:7.0f} polls/s  {tx / max(polls, 1):5.2f} "
        f"transactions/poll  connections {min(connections)}-{max(connections)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument(
        "--pg",
        default=os.environ.get("NEWSMON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    ports: Any = multiprocessing.Queue()
    served: Any = multiprocessing.Value("q", 0)
    server = multiprocessing.Process(target=serve, args=(ports, served), daemon=True)
    server.start()
    hosts = ports.get(timeout=10)
    print(
        f"{args.feeds} feeds, 1 s interval, concurrency {args.concurrency}, "
        f"{args.window:.0f} s window, {os.cpu_count()} cores"
    )
    for count in (int(n) for n in args.nodes.split(",")):
        print(asyncio.run(round_(args, hosts, served, count)), flush=True)
    server.terminate()


if __name__ == "__main__":
    main()
