"""Helpers for tests that run several real ``newsmon run`` processes against one database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Node:
    """One daemon process; its JSON log lines on stderr are collected as they come."""

    proc: asyncio.subprocess.Process
    started: asyncio.Event = field(default_factory=asyncio.Event)
    events: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def drain(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode(errors="replace")
            self.lines.append(text)
            try:
                event = json.loads(text)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            self.events.append(event)
            if event.get("event") == "newsmon.started":
                self.started.set()

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == name]

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


async def until_started(node: Node, timeout: float = 60.0) -> bool:
    """Wait until the node logs ``newsmon.started`` (True) or exits (False)."""
    async with asyncio.timeout(timeout):
        exited = asyncio.ensure_future(node.proc.wait())
        started = asyncio.ensure_future(node.started.wait())
        await asyncio.wait((exited, started), return_when=asyncio.FIRST_COMPLETED)
        for task in (exited, started):
            task.cancel()
    return node.started.is_set()


async def start_node(config: Path, *args: str, env: dict[str, str] | None = None) -> Node:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "monitor",
        "run",
        "--config",
        str(config),
        *args,
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # its parse workers die with it, as in a systemd cgroup
        env={**os.environ, **(env or {})},
    )
    node = Node(proc)
    node.reader = asyncio.create_task(node.drain())
    return node


async def kill_node(node: Node, sig: signal.Signals = signal.SIGKILL) -> int:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.proc.pid, sig)
    code = await node.proc.wait()
    if sig is not signal.SIGKILL:  # its parse workers too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.proc.pid, signal.SIGKILL)
    assert node.reader is not None
    await node.reader
    return code


async def stop_node(node: Node, timeout: float = 30.0) -> int:
    """SIGTERM, then wait for a graceful exit."""
    node.proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(timeout):
        code = await node.proc.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.proc.pid, signal.SIGKILL)
    assert node.reader is not None
    await node.reader
    return code
