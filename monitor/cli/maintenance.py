"""``newsmon prune``: apply ``defaults.retention`` now (the daemon does it every night)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from monitor.cli.common import OK, PROBLEM, load, print_json, with_store
from monitor.cli.render import progress
from monitor.flow.retention import prune


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    prune_cmd = commands.add_parser(
        "prune", parents=[common], help="apply defaults.retention now (the daemon does it daily)"
    )
    prune_cmd.set_defaults(func=cmd_prune)


def cmd_prune(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    with progress("pruning"):  # one transaction: a bar without an end
        counts = asyncio.run(with_store(loaded, lambda store: prune(store, loaded.settings)))
    if args.json:
        print_json(counts)
    else:
        print("  ".join(f"{name}={n}" for name, n in counts.items()))
    return OK
