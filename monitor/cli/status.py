"""``newsmon status``: one screen that says whether all is well, and exit 1 when it is not.

Attention is needed when more feeds are failing than ``--max-failing`` allows, when an alert
is dead (a dead letter: replay or discard it), when a sink is disabled, or when a feed's poll
is later than its own interval (nobody is polling, or the daemon cannot keep up). The counts of
the last hour come from the store's hourly counts: they cover the previous clock hour and this
one so far (``since`` says from when).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.base.settings import feed_policies
from monitor.base.types import AlertState, FeedState
from monitor.cli.common import OK, PROBLEM, load, plural, print_json, with_store
from monitor.cli.render import Column, ago, exact, literal, print_lines, print_table, styled
from monitor.config import LoadedConfig
from monitor.store import StoreStatus
from monitor.store.status import SinkStatus


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    status = commands.add_parser(
        "status", parents=[common], help="is all well? (exit 1 when something needs attention)"
    )
    status.add_argument(
        "--max-failing",
        type=int,
        default=0,
        metavar="N",
        help="failing feeds tolerated before status asks for attention (default 0)",
    )
    status.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    found: StoreStatus = asyncio.run(with_store(loaded, lambda store: store.status()))
    report = build_report(found, loaded, args.max_failing)
    if args.json:
        print_json(report)
    else:
        print_status(report)
    return OK if report["ok"] else PROBLEM


def build_report(found: StoreStatus, loaded: LoadedConfig, max_failing: int) -> dict[str, Any]:
    """What status shows, as data (the ``--json`` output), with the reasons for attention."""
    now = found.now
    lag = _lag(found, loaded)
    sinks = {
        name: {
            "configured": name in loaded.settings.sinks,
            "state": "disabled" if state.disabled_at else "enabled",
            "oldest_pending_age": (now - state.oldest_pending).total_seconds()
            if state.oldest_pending
            else None,
            "attempts_last_hour": found.attempts.get(name, {}),
            **asdict(state),
        }
        for name, state in {
            **dict.fromkeys(loaded.settings.sinks, SinkStatus()),
            **found.sinks,
        }.items()
        if name in loaded.settings.sinks or state.alerts
    }
    dead = sum(s["alerts"].get(AlertState.DEAD, 0) for s in sinks.values())
    attention = _attention(found, sinks, lag, dead, max_failing)
    return {
        "ok": not attention,
        "attention": attention,
        "at": now,
        "feeds": found.feeds,
        "last_hour": {
            "since": found.since,
            "polls": found.polls,
            "new_entries": found.new_entries,
        },
        "schedule": lag,
        "sinks": sinks,
        "dead_letters": dead,
    }


def _lag(found: StoreStatus, loaded: LoadedConfig) -> dict[str, Any]:
    """How late the most overdue feed is, and whether any feed is later than its interval."""
    policies = feed_policies(loaded.settings)
    worst: dict[str, Any] = {"lag": 0.0, "feed": None, "late": []}
    for url, due in found.overdue:
        lag = (found.now - due).total_seconds()
        if worst["feed"] is None:
            worst.update(lag=lag, feed=url)
        policy = policies.get(url)
        if policy is not None and lag > policy.poll.interval:
            worst["late"].append(url)
    return worst


def _attention(
    found: StoreStatus, sinks: dict[str, Any], lag: dict[str, Any], dead: int, max_failing: int
) -> list[str]:
    reasons = []
    failing = found.feeds.get(FeedState.FAILING, 0)
    if failing > max_failing:
        reasons.append(f"{plural(failing, 'feed')} failing (tolerated: {max_failing})")
    if dead:
        reasons.append(
            f"{plural(dead, 'dead letter')}: newsmon alerts --status dead, then replay or discard"
        )
    for name, sink in sinks.items():
        if sink["state"] == "disabled":
            reasons.append(f"sink {name} is disabled: {sink['disabled_reason']}")
    if lag["late"]:
        reasons.append(
            f"{plural(len(lag['late']), 'feed')} polled later than its interval "
            "(is the daemon running and keeping up?)"
        )
    return reasons


FEED_ORDER = [str(state) for state in FeedState]
SINK_COLUMNS = (
    Column("SINK"),
    Column("STATE", state=True),
    Column("PENDING", right=True),
    Column("OLDEST PENDING", right=True),
    Column("DEAD", right=True),
    Column("DELIVERED", right=True),
    Column("LAST HOUR"),
)


def print_status(report: dict[str, Any]) -> None:
    verdict = styled("all is well", "ok") if report["ok"] else styled("needs attention", "dead")
    feeds = report["feeds"]
    tally = ", ".join(
        styled(f"{feeds[state]} {state}", state) for state in FEED_ORDER if feeds.get(state)
    )
    hour = report["last_hour"]
    polls = ", ".join(f"{n} {status}" for status, n in sorted(hour["polls"].items()))
    schedule = report["schedule"]
    lag = (
        f"{_seconds(schedule['lag'])} ({literal(schedule['feed'])})" if schedule["feed"] else "none"
    )
    new = hour["new_entries"]
    print_lines(
        [
            f"newsmon: {verdict}",
            f"feeds:        {tally or 'none'}",
            f"since {exact(hour['since'])[11:16]}:  "
            f"{plural(sum(hour['polls'].values()), 'poll')}{f' ({polls})' if polls else ''}, "
            f"{new} new {'entry' if new == 1 else 'entries'}",
            f"schedule lag: {lag}",
            f"dead letters: {report['dead_letters']}",
            "",
        ],
        markup=True,
    )
    print_table(SINK_COLUMNS, [_sink_row(name, sink) for name, sink in report["sinks"].items()])
    if report["attention"]:
        print_lines(["", *(f"! {reason}" for reason in report["attention"])])


def _sink_row(name: str, sink: dict[str, Any]) -> tuple[Any, ...]:
    alerts = sink["alerts"]
    age = sink["oldest_pending_age"]
    attempts = ", ".join(f"{n} {o}" for o, n in sorted(sink["attempts_last_hour"].items()))
    return (
        name,
        sink["state"] if sink["configured"] else "removed",
        alerts.get(AlertState.PENDING, 0),
        _seconds(age) if age is not None else "-",
        alerts.get(AlertState.DEAD, 0),
        alerts.get(AlertState.DELIVERED, 0),
        attempts or "-",
    )


def _seconds(value: float) -> str:
    """A duration the way ``ago`` words it, without the "ago"."""
    now = datetime.now(UTC)
    return ago(now - timedelta(seconds=value), now).removesuffix(" ago")
