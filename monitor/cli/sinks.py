"""``newsmon sinks``: each sink's state (disabled by a 410?) and alert counts; ``sinks enable``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from monitor.cli.common import OK, PROBLEM, load, print_json, when, with_store


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    sinks = commands.add_parser(
        "sinks", parents=[common], help="sink state (disabled by a 410?) and alert counts"
    )
    sinks.set_defaults(func=cmd_sinks)
    sink_actions = sinks.add_subparsers(dest="action", metavar="ACTION")
    enable = sink_actions.add_parser(
        "enable", parents=[common], help="deliver to a disabled sink again"
    )
    enable.add_argument("name")


def cmd_sinks(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    if args.action == "enable":
        if args.name not in loaded.settings.sinks:
            print(f"no sink {args.name!r} in {args.config}", file=sys.stderr)
            return PROBLEM
        enabled = asyncio.run(with_store(loaded, lambda store: store.enable_sink(args.name)))
        print(f"{args.name}: {'enabled' if enabled else 'was not disabled'}")
        return OK
    stored = {row["name"]: row for row in asyncio.run(with_store(loaded, _list_sinks))}
    for name, spec in loaded.settings.sinks.items():
        row = stored.get(name, {})
        counts = row.get("alerts", {})
        report = {
            "name": name,
            "type": spec.type,
            "state": "disabled" if row.get("disabled_at") else "enabled",
            "disabled_at": row.get("disabled_at"),
            "disabled_reason": row.get("disabled_reason"),
            "digest": spec.digest,
            "timezone": loaded.settings.timezone(spec) if spec.digest else None,
            "last_digest_at": row.get("last_digest_at") if spec.digest else None,
            "rate": spec.rate,
            "alerts": counts,
        }
        if args.json:
            print_json(report)
            continue
        tally = "  ".join(f"{state}={n}" for state, n in sorted(counts.items())) or "no alerts"
        print(f"{name}  {spec.type}  {report['state']}  {tally}")
        if spec.digest:
            print(
                f"  digest: {spec.digest} ({report['timezone']}), "
                f"last cut {when(report['last_digest_at'])}"
            )
        if report["disabled_at"]:
            print(f"  disabled {when(report['disabled_at'])}: {report['disabled_reason']}")
            print(f"  fix the sink, then: newsmon sinks enable {name}")
    return OK


async def _list_sinks(store: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await store.list_sinks()
    return rows
