"""Start-up stays light: a command imports its own group, and Alembic only to migrate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from monitor.cli import _command_in

PROBE = """
import sys
from monitor.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("alembic", "mako", "monitor.cli.status", "monitor.cli.alerts",
                           "monitor.app.endpoint") if m in sys.modules)
print("loaded:", ",".join(heavy))
sys.exit(code)
"""


def probe(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith("loaded:")]
    return line.removeprefix("loaded:").strip()


def test_the_command_is_found_among_the_options() -> None:
    assert _command_in(["--config", "run", "run", "--once"]) == "run"
    assert _command_in(["--log-level", "debug", "--json", "feeds"]) == "feeds"
    assert _command_in(["--config=x.yaml", "check"]) == "check"
    assert _command_in(["--version"]) is None


def test_run_once_imports_alembic_only_when_the_schema_needs_a_migration(
    write_config: Any, tmp_path: Path
) -> None:
    config = str(write_config(feeds=[]))
    first = probe("run", "--once", "--config", config)  # a new store: migrated
    assert "alembic" in first.split(",")
    again = probe("run", "--once", "--config", config)  # at the head: no Alembic, no Mako
    assert again == ""
    assert (tmp_path / "state.db").exists()
