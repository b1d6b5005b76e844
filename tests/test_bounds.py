"""The bound on async tests (tests/bounds.py), tried on a test that hangs in a pytest of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent

HANGING = """\
import asyncio

import pytest


@pytest.mark.bound(0.5)
async def test_hangs():
    await asyncio.sleep(60)


async def test_its_own_timeout_is_its_own():
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)
"""


def test_a_hanging_async_test_fails_fast_and_says_it_hung(tmp_path: Path) -> None:
    (tmp_path / "test_hanging.py").write_text(HANGING)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.bounds", "test_hanging.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "test_hanging.py::test_hangs hung: not done within 0.5 s" in done.stdout, done.stdout
    assert "1 failed, 1 passed" in done.stdout, done.stdout
