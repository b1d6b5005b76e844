"""``newsmon alerts``: recent alerts and their delivery; ``alerts replay ID`` re-queues one."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from monitor.base.types import AlertKind
from monitor.cli.common import OK, PROBLEM, load, print_json, when, with_store


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    alerts = commands.add_parser("alerts", parents=[common], help="recent alerts; replay dead ones")
    alerts.add_argument("--status", choices=["pending", "delivered", "dead", "digested"])
    alerts.add_argument("--sink", metavar="NAME", help="only this sink's alerts")
    alerts.add_argument("--limit", type=int, default=50)
    alerts.set_defaults(func=cmd_alerts)
    actions = alerts.add_subparsers(dest="action", metavar="ACTION")
    replay = actions.add_parser("replay", parents=[common], help="re-queue a dead alert")
    replay.add_argument("id")


def cmd_alerts(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    if args.action == "replay":
        replayed = asyncio.run(with_store(loaded, lambda store: store.replay_alert(args.id)))
        if not replayed:
            print(f"no dead alert with id {args.id}", file=sys.stderr)
            return PROBLEM
        print(f"{args.id}: queued for delivery")
        return OK
    rows = asyncio.run(
        with_store(
            loaded,
            lambda store: store.list_alerts(state=args.status, limit=args.limit, sink=args.sink),
        )
    )
    digest_sinks = {n for n, spec in loaded.settings.sinks.items() if spec.digest is not None}
    for row in rows:
        if args.json:
            print_json(row)
            continue
        state = row["state"]
        if state == "pending" and row["kind"] != AlertKind.DIGEST and row["sink"] in digest_sinks:
            state = "pending (waiting for the digest)"
        title = row["title"] if row["kind"] != AlertKind.DIGEST else "digest"
        print(
            f"{row['id']}  {state:<9}  {row['sink']}  {row['rule_id']}  "
            f"attempts={row['attempts']}  created={when(row['created_at'])}\n  {title}"
        )
        if row["state"] == "pending" and row["attempts"]:
            print(f"  next attempt: {when(row['next_attempt_at'])}")
        if row["digest_id"]:
            print(f"  in digest {row['digest_id']}")
        if row["last_error"]:
            print(f"  last error: {row['last_error']}")
        if row["also_reported_by"]:
            others = ", ".join(r["feed"] for r in row["also_reported_by"])
            print(f"  also reported by: {others}")
    return OK
