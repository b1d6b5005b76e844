"""Running under systemd: the notify protocol from a real daemon process, and the unit's sandbox."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FeedServer

UNIT = Path(__file__).parent.parent / "systemd" / "newsmon.service"


async def test_ready_watchdog_and_stopping_are_notified(
    write_config, tmp_path: Path, feeds: FeedServer, seed_feed: bytes
) -> None:
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(feeds=[url])
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.setblocking(False)
    env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "monitor",
        "run",
        "--config",
        str(config),
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )
    loop = asyncio.get_running_loop()
    messages: list[str] = []
    try:
        async with asyncio.timeout(20):
            while messages.count("WATCHDOG=1") < 3:
                messages.append((await loop.sock_recv(sock, 4096)).decode())
            proc.send_signal(signal.SIGTERM)
            while "STOPPING=1" not in messages:
                messages.append((await loop.sock_recv(sock, 4096)).decode())
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        sock.close()
    assert messages[0] == "READY=1"
    assert messages[1].startswith("STATUS=polling 1 feeds")
    assert messages.index("STOPPING=1") > messages.index("WATCHDOG=1")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_unit_is_sandboxed_with_a_low_exposure() -> None:
    """`systemd-analyze security --offline` rates the unit 2.0 or better (0-100 scale: 20)."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Overall exposure level for newsmon.service: 1." in result.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_unit_has_no_unknown_settings() -> None:
    """`verify` only prints warnings for typos; any line but the missing binary is a failure."""
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [
        line
        for line in result.stderr.splitlines()
        if "/opt/newsmon/bin/newsmon is not executable" not in line
    ]
    assert lines == []
