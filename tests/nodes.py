"""Helpers for tests that run several real ``newsmon run`` processes against one database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import sys
import tempfile
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


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of a server, which a test can cut: :meth:`cut` drops
    every connection; while :attr:`down`, new connections are closed at once (as a stopped
    server's port would refuse them)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.down = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self.connections = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._pipes.update((writer, up_writer))
        await asyncio.gather(
            self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._pipes.discard(w)
            w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()


class OwnPostgres:
    """A PostgreSQL server of the test's own: initdb into a temporary directory, its own port,
    run as the ``postgres`` system user (PostgreSQL refuses to run as root), so that a test can
    stop and start it without disturbing the shared server."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))
        self.data = self.directory / "data"
        self.port = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def available() -> bool:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
        return all(shutil.which(tool) for tool in ("initdb", "pg_ctl", "runuser"))

    async def _as_postgres(self, *command: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            "runuser", "-u", "postgres", "--", *command,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {out.decode(errors='replace')[-2000:]}")

    async def create(self) -> None:
        user = pwd.getpwnam("postgres")
        os.chown(self.directory, user.pw_uid, user.pw_gid)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        await self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        await self.start()

    async def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        await self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "log"), "-o", options,
            "-w", "start",
        )  # fmt: skip

    async def stop(self, mode: str = "immediate") -> None:
        await self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    async def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):
            await self.stop("fast")
        shutil.rmtree(self.directory, ignore_errors=True)
