"""``newsmon web``: the dashboard's pages from the store alone, without polling.

For cron users (``run --once`` fills the store, this shows it) and for reading a shared
PostgreSQL store from another machine. The config gives the rules, tags and groups, and
``http`` its address and token; ``--listen`` serves elsewhere, under the same gate (a
non-loopback address needs ``http.token``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from pydantic import ValidationError

from monitor.app.web import Dashboard, serve
from monitor.base.clock import utcnow
from monitor.base.listen import HttpSpec
from monitor.cli.common import OK, PROBLEM, USAGE, load
from monitor.config import LoadedConfig

DEFAULT_LISTEN = "127.0.0.1:9464"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "web", parents=[common], help="serve the dashboard from the store, without polling"
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"where to serve (default: http.listen, else {DEFAULT_LISTEN})",
    )
    parser.set_defaults(func=cmd_web)


def cmd_web(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    http = loaded.settings.http
    try:
        spec = HttpSpec(
            listen=args.listen or http.listen or DEFAULT_LISTEN,
            token=http.token,
            actions=http.actions,
        )
    except ValidationError as e:
        message = e.errors()[0]["msg"].removeprefix("Value error, ")
        print(f"newsmon web: {message}", file=sys.stderr)
        return USAGE
    return asyncio.run(_serve(loaded, spec))


async def _serve(loaded: LoadedConfig, spec: HttpSpec) -> int:
    from monitor.store import Store
    from monitor.store.engine import SchemaPolicy

    store = await Store.open(loaded.settings.state, utcnow, schema=SchemaPolicy.REQUIRE)
    dashboard = Dashboard.from_config(store, lambda: loaded)
    host, port = spec.address or ("127.0.0.1", 9464)
    try:
        runner, bound = await serve(dashboard, host, port)
    except OSError as e:
        await store.close()
        print(f"newsmon web: cannot listen on {host}:{port}: {e}", file=sys.stderr)
        return PROBLEM
    shown = f"[{host}]" if ":" in host else host
    print(f"newsmon web: serving http://{shown}:{bound}/ (Ctrl-C stops)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await store.close()
    return OK
