"""``newsmon status``: one screen that says whether all is well, and exit 1 when it is not.

Attention is needed when more feeds are failing than ``--max-failing`` allows, when an alert
is dead (a dead letter: replay or discard it), when a sink is disabled, or when a feed's poll
is later than its own interval (nobody is polling, or the daemon cannot keep up), when a live
node runs a config that differs from the others', or when its last reload failed. The counts of
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
from monitor.store import NodeRow, NodeState, Store, StoreStatus
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
    gone_after = loaded.settings.nodes.gone_after

    async def read(store: Store) -> tuple[StoreStatus, list[NodeRow]]:
        return await store.status(), await store.list_nodes(gone_after)

    found, nodes = asyncio.run(with_store(loaded, read))
    report = build_report(found, loaded, args.max_failing, nodes)
    if args.json:
        print_json(report)
    else:
        print_status(report)
    return OK if report["ok"] else PROBLEM


def build_report(
    found: StoreStatus, loaded: LoadedConfig, max_failing: int, nodes: list[NodeRow] | None = None
) -> dict[str, Any]:
    """What status shows, as data (the ``--json`` output), with the reasons for attention."""
    shown = [_node(row, found.now) for row in nodes or []]
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
    attention.extend(_node_attention(shown))
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
        "nodes": shown,
        "last_reload": _last_reload(shown),
    }


def _node(row: NodeRow, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": str(row.state),
        "host": row.host,
        "pid": row.pid,
        "version": row.version,
        "last_seen_age": (now - row.last_seen_at).total_seconds(),
        "feeds_held": row.feeds_held,
        "alerts_held": row.alerts_held,
        "config_differs": row.config_differs,
        "reload": None
        if row.reload_at is None
        else {"at": row.reload_at, "ok": row.reload_ok, "error": row.reload_error},
    }


def _last_reload(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest config reload any live node recorded, and its result."""
    reloads = [
        {"node": node["id"], **node["reload"]}
        for node in nodes
        if node["reload"] is not None and node["state"] == NodeState.LIVE
    ]
    return max(reloads, key=lambda reload: reload["at"], default=None)


def _node_attention(nodes: list[dict[str, Any]]) -> list[str]:
    reasons = []
    for node in nodes:
        if node["state"] != NodeState.LIVE:
            continue
        if node["config_differs"]:
            reasons.append(f"node {node['id']} runs a config that differs from the other nodes'")
        reload = node["reload"]
        if reload is not None and reload["ok"] is False:
            reasons.append(
                f"node {node['id']}: the last config reload failed ({reload['error']}); "
                "it keeps its last good config"
            )
    return reasons


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
    if report["nodes"]:
        print_lines([""])
        print_table(NODE_COLUMNS, [_node_row(node) for node in report["nodes"]])
    reload = report["last_reload"]
    if reload is not None:
        result = "ok" if reload["ok"] else f"failed: {reload['error']}"
        print_lines(["", f"last reload:  {exact(reload['at'])} on {reload['node']}, {result}"])
    if report["attention"]:
        print_lines(["", *(f"! {reason}" for reason in report["attention"])])


NODE_COLUMNS = (
    Column("NODE"),
    Column("STATE", state=True),
    Column("HOST"),
    Column("PID", right=True),
    Column("VERSION"),
    Column("LAST SEEN", right=True),
    Column("FEEDS", right=True),
    Column("ALERTS", right=True),
    Column("CONFIG"),
)


def _node_row(node: dict[str, Any]) -> tuple[Any, ...]:
    return (
        node["id"],
        node["state"],
        node["host"],
        node["pid"],
        node["version"],
        _seconds(node["last_seen_age"]),
        node["feeds_held"],
        node["alerts_held"],
        "differs" if node["config_differs"] else "same",
    )


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
