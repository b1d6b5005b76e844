"""Opening a shared store: the PostgreSQL driver missing, migrations an operator controls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BLOCK_ASYNCPG = """\
import importlib.abc
import sys


class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "asyncpg" or name.startswith("asyncpg."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Blocked())
"""

MINIMAL = """\
state: {state}
feeds:
  - url: https://news.example/feed.xml
rules:
  - id: belarus
    query: 'Belarus'
sinks:
  hook:
    type: webhook
    url: https://hooks.example/in
"""


def newsmon(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture
def without_asyncpg(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import asyncpg (as without the postgresql extra)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_ASYNCPG, encoding="utf-8")
    root = Path(__file__).parent.parent
    return {"PYTHONPATH": os.pathsep.join([str(site), str(root)])}


@pytest.mark.parametrize("command", [["run"], ["run", "--once"], ["check"], ["feeds"]])
def test_postgresql_without_its_extra_is_one_line_naming_the_extra(
    tmp_path: Path, without_asyncpg: dict[str, str], command: list[str]
) -> None:
    config = tmp_path / "newsmon.yaml"
    config.write_text(MINIMAL.format(state="postgresql://127.0.0.1:1/none"), encoding="utf-8")
    result = newsmon(*command, "--config", str(config), cwd=tmp_path, env=without_asyncpg)
    assert result.returncode == 1
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    assert "pip install 'newsmon[postgresql]'" in output
    assert "asyncpg" in output


def test_check_reports_the_missing_extra_in_json(
    tmp_path: Path, without_asyncpg: dict[str, str]
) -> None:
    config = tmp_path / "newsmon.yaml"
    config.write_text(MINIMAL.format(state="postgresql://127.0.0.1:1/none"), encoding="utf-8")
    result = newsmon("check", "--json", "--config", str(config), cwd=tmp_path, env=without_asyncpg)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert "newsmon[postgresql]" in report["problems"][0]["message"]


def test_the_block_leaves_sqlite_alone(tmp_path: Path, without_asyncpg: dict[str, str]) -> None:
    """The simulated missing module breaks only PostgreSQL: SQLite checks fine."""
    config = tmp_path / "newsmon.yaml"
    config.write_text(MINIMAL.format(state=f"sqlite:///{tmp_path}/s.db"), encoding="utf-8")
    result = newsmon("check", "--config", str(config), cwd=tmp_path, env=without_asyncpg)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
