"""What the dashboard reads: each feed's last polls (a bounded ring) and every delivery attempt
with its answer, written by real ``run --once`` passes against loopback servers (SQLite and
PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.base.clock import utcnow
from monitor.store import Store
from monitor.store.schema import POLL_RING, delivery_attempts, poll_history
from tests.configs import rule, webhook
from tests.conftest import FakeClock, FeedServer, Receiver, count_rows, run_once


@pytest.fixture
def config(write_config, state: str, feeds: FeedServer, receiver: Receiver) -> Path:
    path: Path = write_config(
        state=state,
        defaults={"backfill": "all", "interval": "1m"},
        feeds=[{"url": feeds.url("seed.xml"), "name": "Tagar", "language": "id"}],
        rules=[rule("sanksi", "sanksi")],
        sinks={"hook": webhook(receiver.url)},
    )
    return path


async def _read(state: str, table: sa.Table, order: sa.ColumnElement[int]) -> list[sa.Row[object]]:
    store = await Store.open(state, utcnow)
    try:
        async with store.engine.connect() as conn:
            return list((await conn.execute(sa.select(table).order_by(order))).all())
    finally:
        await store.close()


async def test_a_feed_keeps_its_last_polls_only(
    config: Path, state: str, feeds: FeedServer, seed_feed: bytes, clock: FakeClock
) -> None:
    """The first poll finds the three seed entries; later ones answer 304 (nothing new), then a
    500; past POLL_RING polls the oldest slot is overwritten, so the rows stay bounded."""
    feeds.set("seed.xml", seed_feed)
    await run_once(config, clock)
    [first] = await _read(state, poll_history, poll_history.c.poll)
    assert (first.poll, first.status, first.new_entries, first.error) == (1, "ok", 3, None)

    for _ in range(POLL_RING + 4):
        clock.advance(120)
        await run_once(config, clock)
    feeds.set("seed.xml", b"down", status=500)
    clock.advance(120)
    await run_once(config, clock)
    rows = await _read(state, poll_history, poll_history.c.poll)
    assert len(rows) == POLL_RING
    assert [r.poll for r in rows] == list(range(POLL_RING + 6 - POLL_RING + 1, POLL_RING + 7))
    assert {r.status for r in rows[:-1]} == {"not_modified"}
    assert rows[-1].status != "ok"
    assert rows[-1].error
    assert "500" in rows[-1].error
    assert all(r.new_entries == 0 for r in rows)


async def test_every_delivery_attempt_is_kept_with_its_answer(
    config: Path,
    state: str,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
) -> None:
    """A receiver answering 500, then 503, then 200: three attempts of the one alert, with the
    time and the answer of each; the alert's deletion takes them along."""
    feeds.set("seed.xml", seed_feed)
    receiver.answer(500, 503)
    await run_once(config, clock)
    clock.advance(10)
    await run_once(config, clock)
    clock.advance(400)
    await run_once(config, clock)
    assert len(receiver.deliveries) == 3
    rows = await _read(state, delivery_attempts, delivery_attempts.c.id)
    assert [(r.attempt, r.outcome) for r in rows] == [(1, "retry"), (2, "retry"), (3, "delivered")]
    assert "500" in rows[0].answer
    assert "503" in rows[1].answer
    assert rows[2].answer == "acknowledged"
    assert len({r.alert_id for r in rows}) == 1
    assert rows[0].at < rows[1].at < rows[2].at

    store = await Store.open(state, utcnow)
    try:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM alerts"))
        assert await count_rows(store, "delivery_attempts") == 0
    finally:
        await store.close()
