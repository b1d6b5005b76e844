"""A feed whose parse never ends must not hold up the others: the daemon keeps polling other
feeds and delivering their alerts while it hangs, then the deadline kills its worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from monitor.app.daemon import Daemon
from monitor.config import load_config
from monitor.stages.parse import ParsePool
from monitor.store import Store
from tests.configs import rule, webhook
from tests.conftest import FakeClock, Receiver
from tests.evil_server import EvilServer
from tests.parsers import HANG

LEADS = (
    "Pasukan perbatasan memperketat pemeriksaan kendaraan dari Polandia dan Lituania",
    "Bank sentral menaikkan suku bunga acuan setelah inflasi melonjak bulan lalu",
    "Ribuan pekerja pabrik traktor mogok menuntut pemilu ulang di ibu kota",
)


def story_feed(n: int) -> bytes:
    """A feed with one story of its own (copies of one story would be one alert)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Good</title>'
        f"<item><title>Belarus{n} dan Rusia Tanggapi Ancaman Politik Eksternal</title>"
        f"<link>https://news.example/{n}</link><guid>story-{n}</guid>"
        f"<description>{LEADS[n]}, kata pejabat di Minsk pada Senin.</description></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.slow
async def test_a_hanging_parse_delays_neither_other_feeds_nor_alerts(
    write_config: Any,
    tmp_path: Path,
    evil: EvilServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
) -> None:
    hung = evil.set("hung.xml", seed_feed.replace(b"<channel>", b"<channel>" + HANG))
    good = [evil.set(f"good{i}.xml", story_feed(i)) for i in range(3)]
    state = tmp_path / "state.db"
    config = load_config(
        write_config(
            defaults={"backfill": "all", "interval": "1h", "parse_timeout": "5s"},
            feeds=[hung, *good],
            rules=[rule("belarus", "Belarus*")],
            sinks={"hook": webhook(receiver.url)},
        )
    )
    pool = ParsePool(2, target="tests.parsers:parse_slowly")
    stop = asyncio.Event()
    try:
        with capture_logs(processors=[merge_contextvars]) as logs:
            async with Daemon(config, clock=clock, parse_pool=pool, tick=0.1) as daemon:
                clock.advance(60)  # every feed is due at the first tick
                running = asyncio.create_task(daemon.run(stop))

                def updated(url: str) -> list[dict[str, Any]]:
                    return [
                        e for e in logs if e["event"] == "feed.updated" and e.get("feed") == url
                    ]

                async with asyncio.timeout(30):
                    while len(receiver.deliveries) < 3:
                        await asyncio.sleep(0.05)
                    # Three alerts delivered, every good feed recorded: the hung parse still runs.
                    assert all(updated(url) for url in good)
                    assert updated(hung) == []
                    assert len(pool.pids) == 2
                    while not updated(hung):
                        await asyncio.sleep(0.05)
                stop.set()
                await running
    finally:
        await pool.close()
    [hung_update] = updated(hung)
    assert hung_update["status"] == "error"
    assert "longer than 5s" in hung_update["error"]
    assert pool.killed == 1
    titles = sorted(d.json["data"]["article"]["title"] for d in receiver.deliveries)
    assert titles == [f"Belarus{i} dan Rusia Tanggapi Ancaman Politik Eksternal" for i in range(3)]
    store = await Store.open(f"sqlite:///{state}", clock)
    try:
        rows = {row["url"]: row for row in await store.list_feeds()}
    finally:
        await store.close()
    assert rows[hung]["last_error_kind"] == "parse_timeout"
    assert all(rows[url]["last_status"] == "ok" for url in good)
