"""``newsmon nodes``: the daemons on this store, from their heartbeats (live, gone), what each
holds, its last reload, and whether its config differs from the others'."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from typing import Any

from monitor.cli.common import OK, PROBLEM, load, print_json, when, with_store

COLUMNS = ("NODE", "STATE", "HOST", "PID", "VERSION", "CONFIG", "STARTED", "LAST SEEN", "FEEDS",
           "ALERTS", "LAST RELOAD")  # fmt: skip


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    nodes = commands.add_parser(
        "nodes", parents=[common], help="the daemons on this store: alive or gone, what each holds"
    )
    nodes.set_defaults(func=cmd_nodes)


def cmd_nodes(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    gone_after = loaded.settings.nodes.gone_after
    rows = asyncio.run(with_store(loaded, lambda store: store.list_nodes(gone_after)))
    if args.json:
        print_json([dataclasses.asdict(row) for row in rows])
        return OK
    if not rows:
        print("no node has run on this store yet")
        return OK
    table = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    differing = [row.id for row in rows if row.config_differs]
    if differing:
        print(f"config differs from the other nodes': {', '.join(differing)}")
    return OK


def _cells(row: Any) -> tuple[str, ...]:
    config = row.config_fingerprint[:12] + (" DIFFERS" if row.config_differs else "")
    if row.reload_at is None:
        reload = "-"
    else:
        reload = f"{when(row.reload_at)} {'ok' if row.reload_ok else 'failed'}"
        if row.reload_error:
            reload += f": {row.reload_error}"
    return (
        row.id, str(row.state), row.host, str(row.pid), row.version, config,
        when(row.started_at), when(row.last_seen_at), str(row.feeds_held), str(row.alerts_held),
        reload,
    )  # fmt: skip
