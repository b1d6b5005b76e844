"""SIGKILL between recording a teaser entry and reading its page: the page is read after the
restart, and the alert it leads to is delivered once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.config import load_config
from monitor.store import Store
from monitor.store.schema import pages
from tests.configs import rule, webhook
from tests.conftest import FakeClock, Receiver
from tests.nodes import kill_node, start_node, stop_node, until_started
from tests.test_full_text import Site, seed_site
from tests.test_full_text import site as site  # the fixture

pytestmark = pytest.mark.slow


async def _page_rows(config: Path) -> list[sa.Row[tuple[str, int, str | None]]]:
    store = await Store.open(load_config(config).settings.state, FakeClock())
    try:
        async with store.engine.connect() as conn:
            query = sa.select(pages.c.state, pages.c.attempts, pages.c.lease_owner)
            return list((await conn.execute(query)).all())
    finally:
        await store.close()


async def _until(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_page_owed_when_the_daemon_dies_is_read_after_restart_and_alerts_once(
    write_config,
    state: str,
    site: Site,
    receiver: Receiver,
) -> None:
    seed_site(site)
    site.hang.add("berita/belarus")  # the page does not come: the entry is recorded owing it
    config = write_config(
        state=state,
        defaults={"backfill": "all", "full_text": "auto", "full_text_wait": "0.3s"},
        feeds=[{"url": site.url("feed.xml"), "language": "id"}],
        rules=[rule("sanksi", "sanksi")],  # in the page only
        sinks={"hook": webhook(receiver.url)},
    )
    node = await start_node(config)
    try:
        assert await until_started(node), node.stderr

        async def claimed_after_the_poll() -> bool:
            # once by the poll, then by the page reader, which holds its lease now
            rows = await _page_rows(config)
            return site.hits("berita/belarus") >= 2 and any(r.lease_owner for r in rows)

        assert await _until(claimed_after_the_poll, 30), (site.requests, node.stderr)
    finally:
        await kill_node(node)
    assert receiver.deliveries == []
    [row] = await _page_rows(config)
    assert row.state == "owed"

    site.hang.clear()
    node = await start_node(config)
    try:
        assert await until_started(node), node.stderr

        async def delivered() -> bool:
            return len(receiver.deliveries) >= 1

        assert await _until(delivered, 30), node.stderr
        await asyncio.sleep(1.5)  # time for a second delivery, if there were one
    finally:
        await stop_node(node)
    [delivery] = receiver.deliveries
    assert delivery.json["data"]["rule"]["id"] == "sanksi"
    [row] = await _page_rows(config)
    assert row.state == "done"
