"""The daemon as a whole object: opening and closing it, whatever fails on the way."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import warnings
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from monitor.app.daemon import Daemon
from monitor.config import load_config
from monitor.store import Store
from tests.configs import write_config
from tests.conftest import FakeClock


async def test_a_daemon_that_fails_while_opening_releases_what_it_opened(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Syncing the config's feeds fails (a trigger refuses the insert): the error reaches the
    caller, and the store's lock, its connections and the HTTP sessions are released, so the
    next start on the same state works."""
    state = tmp_path / "state.db"
    config = write_config(tmp_path, state=state, feeds=["https://a.example/feed"])
    store = await Store.open(f"sqlite:///{state}", clock)  # migrated, then the trap is set
    await store.close()
    with sqlite3.connect(state) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON feeds BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    loaded = load_config(config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with asyncio.timeout(20):
            with pytest.raises(Exception, match="refused"):
                async with Daemon(loaded, clock=clock, parse_pool=None):
                    pass
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    with sqlite3.connect(state) as db:
        db.execute("DROP TRIGGER refuse")
    async with asyncio.timeout(20), Daemon(loaded, clock=clock, parse_pool=None) as daemon:
        assert daemon.store.single_node  # the lock file was free to take


async def test_a_retired_setting_is_warned_about_when_the_daemon_starts(
    tmp_path: Path, clock: FakeClock
) -> None:
    """``defaults.deliveries`` does nothing any more: a daemon started with it says so in its
    log (as ``newsmon check`` and a reload do), with the setting's position."""
    config = write_config(tmp_path, defaults={"deliveries": 8}, feeds=["http://127.0.0.1:9/f"])
    stop = asyncio.Event()
    with capture_logs() as logs:
        async with Daemon(load_config(config), clock=clock, parse_pool=None) as daemon:
            running = asyncio.create_task(daemon.run(stop))
            while not any(e["event"] == "newsmon.started" for e in logs):
                await asyncio.sleep(0.01)
            stop.set()
            await running
    [warning] = [e for e in logs if e["event"] == "config.warning"]
    assert warning["problem"].startswith(f"{config}:")
    assert "defaults.deliveries is no longer used" in warning["problem"]
