"""The ``newsmon`` command: one module per command group, each registering its parser.

Exit codes: 0 ok, 1 a problem was found, 2 usage error (argparse). ``python -m monitor`` is
the same command.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from monitor import __version__
from monitor.app.log import configure_logging
from monitor.base.errors import MonitorError
from monitor.cli.common import PROBLEM, default_config

SIGPIPE_EXIT = 128 + 13
GROUPS = (
    "run",
    "migrate",
    "check",
    "status",
    "feeds",
    "alerts",
    "maintenance",
    "rules",
    "sinks",
    "nodes",
    "schema",
    "web",
)
# The group that registers each command: a command imports its own group alone (start-up
# time); anything else (no command, help, a command not listed here) imports every group.
COMMANDS = {
    "run": "run",
    "migrate": "migrate",
    "check": "check",
    "status": "status",
    "feeds": "feeds",
    "discover": "feeds",
    "alerts": "alerts",
    "prune": "maintenance",
    "test-rules": "rules",
    "sinks": "sinks",
    "nodes": "nodes",
    "schema": "schema",
    "web": "web",
}
VALUED = ("--config", "--log-level")  # the options before a command that take a value


def _command_in(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names, if any (the first word that is no option nor its value)."""
    words = iter(argv)
    for word in words:
        if word in VALUED:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _groups(argv: Sequence[str] | None) -> list[ModuleType]:
    command = _command_in(argv) if argv is not None else None
    names = [COMMANDS[command]] if command in COMMANDS else GROUPS
    return [importlib.import_module(f"monitor.cli.{name}") for name in names]


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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command's parser; given the arguments, only with the group of the command named."""
    common = _common_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="newsmon",
        parents=[_common_options(suppress=False)],
        description="Monitor news feeds and alert on watch rules.",
    )
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in _groups(argv):
        group.register(commands, common)
    demo = commands.add_parser(
        "demo", parents=[common], help="see an alert end to end, offline, in a few seconds"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
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
