"""The ``newsmon`` command: one module per command group, each registering its parser.

Exit codes: 0 ok, 1 a problem was found, 2 usage error (argparse). ``python -m monitor`` is
the same command.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from monitor import __version__
from monitor.app.log import configure_logging
from monitor.base.errors import MonitorError
from monitor.cli import (
    alerts,
    check,
    feeds,
    maintenance,
    migrate,
    nodes,
    rules,
    run,
    schema,
    sinks,
    status,
    web,
)
from monitor.cli.common import PROBLEM, default_config

SIGPIPE_EXIT = 128 + 13
GROUPS = (run, migrate, check, status, feeds, alerts, maintenance, rules, sinks, nodes, schema, web)


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.cli.demo import run_demo

    configure_logging(json=False, level="warning")
    return asyncio.run(run_demo())


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options every command takes; on subcommands they default to "not given" so that
    ``newsmon --config x run`` and ``newsmon run --config x`` both work."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=default(default_config()),
        metavar="PATH",
        help="config file (default: $NEWSMON_CONFIG, else config/newsmon.yaml)",
    )
    common.add_argument(
        "--json", action="store_true", default=default(False), help="machine-readable output"
    )
    common.add_argument(
        "--log-level", default=default("info"), choices=["debug", "info", "warning", "error"]
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="newsmon",
        parents=[_common_options(suppress=False)],
        description="Monitor news feeds and alert on watch rules.",
    )
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands, common)
    demo = commands.add_parser(
        "demo", parents=[common], help="see an alert end to end, offline, in a few seconds"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe is found here, not at exit
    except MonitorError as e:
        print(f"newsmon: {e}", file=sys.stderr)
        return PROBLEM
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    return code


def _reader_went_away() -> int:
    """``newsmon feeds | head``: the reader stopped reading. End quietly, as a command killed by
    SIGPIPE would (exit 141), without a traceback at exit when Python flushes stdout again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return SIGPIPE_EXIT
