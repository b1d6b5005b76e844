"""Opening a shared store: the PostgreSQL driver missing, migrations an operator controls."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.store import engine as engine_mod

HEAD = engine_mod.head_revision()

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


LOCAL = MINIMAL.replace("https://news.example/feed.xml", "http://127.0.0.1:9/feed.xml").replace(
    "feeds:", "defaults:\n  allow_private: true\nfeeds:"
)


def at_revision(state: str, revision: str | None, *, stamp: str | None = None) -> None:
    """Bring a store to ``revision`` (None: leave it empty); ``stamp`` then overwrites the
    recorded revision, as a newer newsmon would have left it."""

    async def go() -> None:
        engine = engine_mod.create_engine(engine_mod.database_url(state))
        try:
            if revision is not None:
                await engine_mod.migrate(engine, revision)
            if stamp is not None:
                async with engine.begin() as conn:
                    await conn.execute(
                        sa.text("UPDATE alembic_version SET version_num = :v"), {"v": stamp}
                    )
        finally:
            await engine.dispose()

    asyncio.run(go())


def current_revision(state: str) -> str | None:
    async def go() -> str | None:
        engine = engine_mod.create_engine(engine_mod.database_url(state))
        try:
            return (await engine_mod.revisions(engine)).current
        finally:
            await engine.dispose()

    return asyncio.run(go())


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    return output


@pytest.mark.postgres
def test_an_older_shared_schema_is_migrated_by_migrate_only(pg_state: str, tmp_path: Path) -> None:
    config = tmp_path / "newsmon.yaml"
    config.write_text(LOCAL.format(state=pg_state), encoding="utf-8")
    at_revision(pg_state, "0003")

    refused = newsmon("feeds", "--config", str(config), cwd=tmp_path)
    assert refused.returncode == 1
    message = one_line(refused)
    assert "revision 0003" in message
    assert HEAD in message
    assert "newsmon migrate" in message
    assert current_revision(pg_state) == "0003"  # the command changed nothing

    check = newsmon("migrate", "--check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 1
    assert "0003" in check.stdout
    assert HEAD in check.stdout
    report = json.loads(
        newsmon("migrate", "--check", "--json", "--config", str(config), cwd=tmp_path).stdout
    )
    assert report == {"current": "0003", "target": HEAD, "pending": True, "migrated": False}
    assert current_revision(pg_state) == "0003"

    migrated = newsmon("migrate", "--config", str(config), cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert f"from 0003 to {HEAD}" in migrated.stdout
    assert current_revision(pg_state) == HEAD
    assert newsmon("migrate", "--check", "--config", str(config), cwd=tmp_path).returncode == 0
    assert newsmon("feeds", "--config", str(config), cwd=tmp_path).returncode == 0


@pytest.mark.postgres
def test_run_migrates_a_new_shared_database_and_other_commands_refuse_it(
    pg_state: str, tmp_path: Path
) -> None:
    config = tmp_path / "newsmon.yaml"
    config.write_text(LOCAL.format(state=pg_state), encoding="utf-8")
    refused = newsmon("alerts", "--config", str(config), cwd=tmp_path)
    assert refused.returncode == 1
    assert "no newsmon schema yet" in one_line(refused)
    assert current_revision(pg_state) is None
    ran = newsmon("run", "--once", "--config", str(config), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert current_revision(pg_state) == HEAD


@pytest.mark.postgres
@pytest.mark.parametrize(
    "command", [["feeds"], ["run", "--once"], ["migrate"], ["migrate", "--check"]]
)
def test_a_schema_newer_than_the_code_is_refused_by_every_command(
    pg_state: str, tmp_path: Path, command: list[str]
) -> None:
    config = tmp_path / "newsmon.yaml"
    config.write_text(LOCAL.format(state=pg_state), encoding="utf-8")
    at_revision(pg_state, "head", stamp="9999")
    result = newsmon(*command, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    message = one_line(result)
    assert "revision 9999, newer than this newsmon" in message
    assert HEAD in message
    assert current_revision(pg_state) == "9999"


def test_the_embedded_sqlite_store_follows_the_code(tmp_path: Path) -> None:
    """SQLite is one node's own file: any command brings it up to date, as before."""
    state = f"sqlite:///{tmp_path}/state/newsmon.db"
    config = tmp_path / "newsmon.yaml"
    config.write_text(LOCAL.format(state=state), encoding="utf-8")
    at_revision(state, "0003")
    result = newsmon("feeds", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert current_revision(state) == HEAD
