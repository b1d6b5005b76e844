"""The daemon as a whole object: opening and closing it, whatever fails on the way."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import warnings
from pathlib import Path

import pytest

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
