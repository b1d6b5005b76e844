"""This node among the others: its heartbeat row, lease renewal, and noticing other configs.

The config fingerprint covers what every node must agree on (feeds, rules, groups, words,
sinks, and the feed defaults) and leaves out what is the node's own (its id, store URL, HTTP
listener, parse workers and memory, fetch concurrency, proxy, log level).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from datetime import timedelta
from typing import Any

import structlog

from monitor import __version__
from monitor.base.settings import Settings
from monitor.store import Leases, NodeBeat, NodeState, Store

log = structlog.get_logger("newsmon")

NODE_LOCAL_DEFAULTS = (
    "parse_workers",
    "parse_memory",
    "concurrency",
    "per_host",
    "per_sink",
    "proxy",  # each node reaches the web its own way
    "no_proxy",
)


def config_fingerprint(settings: Settings) -> str:
    """A hash of the settings every node must share."""
    defaults = settings.defaults.model_dump(mode="json", exclude=set(NODE_LOCAL_DEFAULTS))
    shared: dict[str, Any] = {
        "defaults": defaults,
        "feeds": [feed.model_dump(mode="json") for feed in settings.feeds],
        "groups": dict(settings.groups),
        "rules": [rule.model_dump(mode="json") for rule in settings.rules],
        "words": settings.words.model_dump(mode="json"),
        "sinks": {name: spec.model_dump(mode="json") for name, spec in settings.sinks.items()},
    }
    text = json.dumps(shared, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Heartbeat:
    """Writes this node's row every ``nodes.heartbeat`` and renews its leases."""

    def __init__(self, store: Store, settings: Settings, leases: Leases) -> None:
        self.store = store
        self.node = settings.node_id
        self.leases = leases
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = store.now()
        self.configure(settings)
        self.reload: tuple[Any, bool | None, str | None] = (None, None, None)
        self.differs: tuple[str, ...] = ()
        self._shared_warned = False
        self.store_down = False  # the last heartbeat failed (``/readyz`` says so)

    def configure(self, settings: Settings) -> None:
        self.spec = settings.nodes
        self.fingerprint = config_fingerprint(settings)

    def reloaded(self, ok: bool, error: str | None = None) -> None:
        self.reload = (self.store.now(), ok, error)

    async def beat(self) -> None:
        """One heartbeat; a database that is down is logged and tried again at the next."""
        at, ok, error = self.reload
        beat = NodeBeat(
            self.node, self.host, self.pid, __version__, self.fingerprint, self.started_at,
            reload_at=at, reload_ok=ok, reload_error=error,
        )  # fmt: skip
        try:
            before = await self.store.heartbeat(beat, self.leases, self.spec.forget_after)
            others = await self.store.list_nodes(self.spec.gone_after)
        except Exception as e:  # the store is unreachable: the next beat tries again
            self.store_down = True
            await log.awarning("node.heartbeat_failed", node=self.node, error=str(e) or repr(e))
            return
        if self.store_down:
            self.store_down = False
            await log.ainfo("node.store_back", node=self.node)
        await self._check_shared_id(before)
        mine = beat.config_fingerprint
        differs = tuple(
            n.id
            for n in others
            if n.state is NodeState.LIVE and n.id != self.node and n.config_fingerprint != mine
        )
        if differs and not self.differs:  # once, until the configs agree again
            await log.awarning(
                "nodes.config_differs",
                node=self.node,
                nodes=list(differs),
                hint="these nodes run a different config (feeds, rules, groups or sinks)",
            )
        self.differs = differs

    async def _check_shared_id(self, before: dict[str, Any] | None) -> None:
        """Another live process wrote our row since our last beat: two nodes share one id."""
        if before is None or self._shared_warned:
            return
        ours = (before["host"], before["pid"], before["started_at"])
        if ours == (self.host, self.pid, self.started_at):
            return
        recent = before["last_seen_at"] > self.store.now() - timedelta(seconds=self.spec.gone_after)
        if recent and before["started_at"] > self.started_at - timedelta(seconds=1):
            self._shared_warned = True
            await log.awarning(
                "node.id_shared",
                node=self.node,
                other_host=before["host"],
                other_pid=before["pid"],
                hint="give each node its own node_id",
            )

    async def leave(self) -> None:
        """Hand our leases back on a clean stop."""
        try:
            await self.store.leave(self.node)
        except Exception as e:
            await log.awarning("node.leave_failed", node=self.node, error=str(e) or repr(e))
