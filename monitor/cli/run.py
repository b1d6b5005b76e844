"""``newsmon run``: the daemon until SIGTERM, or ``--once``: poll every feed, deliver, exit."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from monitor.app.log import configure_logging
from monitor.base.errors import EndpointError, StoreError
from monitor.cli.common import OK, PROBLEM, load, print_json
from monitor.cli.render import progress
from monitor.config import LoadedConfig
from monitor.config.secrets import secret_problems


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    run = commands.add_parser("run", parents=[common], help="run the daemon")
    run.add_argument("--once", action="store_true", help="poll every feed once, deliver, exit")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    exposed = secret_problems(args.config)
    for problem in exposed:
        print(problem, file=sys.stderr)
    if any(problem.severity == "error" for problem in exposed):
        print("newsmon: refusing to start with secrets others can read", file=sys.stderr)
        return PROBLEM
    configure_logging(json=None, level=args.log_level)
    try:
        if args.once:
            return asyncio.run(_run_once(loaded, args))
        from monitor.app.lifecycle import serve

        return asyncio.run(serve(loaded, Path(args.config)))
    except (StoreError, EndpointError) as e:
        print(f"newsmon: {e}", file=sys.stderr)
        return PROBLEM


async def _run_once(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    from monitor.app.daemon import Daemon

    with progress("polling", log_level=args.log_level) as report:
        async with Daemon(loaded) as daemon:
            summary = await daemon.run_once(report)
    if args.json:
        print_json(
            {
                "feeds": dict(summary.feeds),
                "new": summary.new,
                "alerts": summary.alerts,
                "deliveries": dict(summary.deliveries),
                "crashed": summary.crashed,
                "failing": summary.failing,
            }
        )
    return OK if summary.ok else PROBLEM
