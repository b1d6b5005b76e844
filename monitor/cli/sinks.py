"""``newsmon sinks``: each sink's state (disabled by a 410?) and alert counts; ``sinks enable``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from monitor.base.types import AlertState
from monitor.cli.common import OK, PROBLEM, load, print_json, when, with_store
from monitor.cli.render import Column, print_lines, print_table

ALERT_STATES = tuple(AlertState)


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
    test = sink_actions.add_parser(
        "test",
        parents=[common],
        help="send the sample alert (the seed article) through a sink; show the answer",
    )
    test.add_argument("name")


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
    if args.action == "test":
        return _test(args, loaded)
    stored = {row["name"]: row for row in asyncio.run(with_store(loaded, _list_sinks))}
    reports = [
        _report(name, spec, stored.get(name, {}), loaded)
        for name, spec in loaded.settings.sinks.items()
    ]
    if args.json:
        for report in reports:
            print_json(report)
        return OK
    print_sinks(reports)
    return OK


def _report(name: str, spec: Any, row: dict[str, Any], loaded: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": spec.type,
        "state": "disabled" if row.get("disabled_at") else "enabled",
        "disabled_at": row.get("disabled_at"),
        "disabled_reason": row.get("disabled_reason"),
        "digest": spec.digest,
        "timezone": loaded.settings.timezone(spec) if spec.digest else None,
        "last_digest_at": row.get("last_digest_at") if spec.digest else None,
        "rate": spec.rate,
        "alerts": row.get("alerts", {}),
    }


SINK_COLUMNS = (
    Column("NAME"),
    Column("TYPE"),
    Column("STATE", state=True),
    *(Column(state.upper(), right=True) for state in ALERT_STATES),
    Column("DIGEST"),
)


def print_sinks(reports: list[dict[str, Any]]) -> None:
    if not reports:
        print("no sinks configured")
        return
    rows = []
    notes: list[str] = []
    for report in reports:
        counts = report["alerts"]
        digest = (
            f"{report['digest']} ({report['timezone']}), last {when(report['last_digest_at'])}"
            if report["digest"]
            else "-"
        )
        rows.append(
            (
                report["name"],
                report["type"],
                report["state"],
                *(counts.get(state, 0) for state in ALERT_STATES),
                digest,
            )
        )
        if report["disabled_at"]:
            notes += [
                report["name"],
                f"  disabled {when(report['disabled_at'])}: {report['disabled_reason']}",
                f"  fix the sink, then: newsmon sinks enable {report['name']}",
            ]
    print_table(SINK_COLUMNS, rows)
    if notes:
        print_lines(["", *notes])


def _test(args: argparse.Namespace, loaded: Any) -> int:
    from monitor.cli.sinktest import send_sample

    if args.name not in loaded.settings.sinks:
        print(f"no sink {args.name!r} in {args.config}", file=sys.stderr)
        return PROBLEM
    report = asyncio.run(send_sample(loaded, args.name))
    if args.json:
        print_json(report)
    else:
        verdict = "delivered" if report["delivered"] else f"failed: {report['error']}"
        print(f"{args.name} ({report['type']}): sent {report['id']}, {verdict}")
        print(f"  alert: rule {report['rule']}, {report['title']!r}")
        print(f"  answer: {report['answer'] or '(none)'}")
    return OK if report["delivered"] else PROBLEM


async def _list_sinks(store: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await store.list_sinks()
    return rows
