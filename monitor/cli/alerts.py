"""``newsmon alerts``: recent alerts and their delivery; ``alerts replay ID`` re-queues a dead
one, ``alerts discard`` gives dead ones up (kept, recorded, never sent)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from monitor.base.types import AlertKind, AlertState
from monitor.cli.common import OK, PROBLEM, USAGE, load, plural, print_json, when, with_store
from monitor.cli.render import Column, print_lines, print_table
from monitor.config import LoadedConfig


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    alerts = commands.add_parser("alerts", parents=[common], help="recent alerts; replay dead ones")
    alerts.add_argument("--status", choices=[str(state) for state in AlertState])
    alerts.add_argument("--sink", metavar="NAME", help="only this sink's alerts")
    alerts.add_argument("--limit", type=int, default=50)
    alerts.set_defaults(func=cmd_alerts)
    actions = alerts.add_subparsers(dest="action", metavar="ACTION")
    replay = actions.add_parser("replay", parents=[common], help="re-queue a dead alert")
    replay.add_argument("id")
    discard = actions.add_parser(
        "discard",
        parents=[common],
        help="give up a dead alert (or a sink's dead alerts): kept, never sent",
    )
    discard.add_argument("id", nargs="?", help="the dead alert's id")
    discard.add_argument("--sink", dest="discard_sink", metavar="NAME", help="a sink's dead alerts")
    discard.add_argument(
        "--before",
        type=_moment,
        metavar="DATE",
        help="only those created before this date (2026-12-01 or an ISO time; UTC unless given)",
    )


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or an ISO time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _discard(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    if (args.id is None) == (args.discard_sink is None):
        print("newsmon alerts discard: give an alert id, or --sink NAME", file=sys.stderr)
        return USAGE
    ids: list[str] = asyncio.run(
        with_store(
            loaded,
            lambda store: store.discard_alerts(
                alert_id=args.id, sink=args.discard_sink, before=args.before
            ),
        )
    )
    if args.json:
        print_json({"discarded": ids})
    elif args.id is not None:
        if not ids:
            print(f"no dead alert with id {args.id}", file=sys.stderr)
            return PROBLEM
        print(f"{args.id}: discarded")
    else:
        print(f"{plural(len(ids), 'dead alert')} of {args.discard_sink} discarded")
    return OK


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
    if args.action == "discard":
        return _discard(args, loaded)
    rows = asyncio.run(
        with_store(
            loaded,
            lambda store: store.list_alerts(state=args.status, limit=args.limit, sink=args.sink),
        )
    )
    if args.json:
        for row in rows:
            print_json(row)
        return OK
    digest_sinks = {n for n, spec in loaded.settings.sinks.items() if spec.digest is not None}
    print_alerts(rows, digest_sinks)
    return OK


ALERT_COLUMNS = (
    Column("ID"),
    Column("STATE", state=True),
    Column("SINK"),
    Column("RULE"),
    Column("TRIES", right=True),
    Column("CREATED", time=True),
    Column("TITLE", wrap=True),
)


def print_alerts(rows: list[dict[str, Any]], digest_sinks: set[str]) -> None:
    if not rows:
        print("no alerts")
        return
    table = []
    notes: list[str] = []
    for row in rows:
        state = row["state"]
        if state == "pending" and row["kind"] != AlertKind.DIGEST and row["sink"] in digest_sinks:
            state = "pending (waiting for the digest)"
        title = row["title"] if row["kind"] != AlertKind.DIGEST else "digest"
        table.append(
            (
                row["id"],
                state,
                row["sink"],
                row["rule_id"],
                row["attempts"],
                row["created_at"],
                title or "",
            )
        )
        notes += _alert_notes(row)
    print_table(ALERT_COLUMNS, table)
    if notes:
        print_lines(["", *notes])


def _alert_notes(row: dict[str, Any]) -> list[str]:
    notes = []
    if row["state"] == "pending" and row["attempts"]:
        notes.append(f"  next attempt: {when(row['next_attempt_at'])}")
    if row["digest_id"]:
        notes.append(f"  in digest {row['digest_id']}")
    if row["last_error"]:
        notes.append(f"  last error: {row['last_error']}")
    if row["discarded_at"]:
        notes.append(f"  discarded {when(row['discarded_at'])}")
    if row["also_reported_by"]:
        others = ", ".join(r["feed"] for r in row["also_reported_by"])
        notes.append(f"  also reported by: {others}")
    return [row["id"], *notes] if notes else []
