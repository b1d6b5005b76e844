"""``newsmon status`` on stores filled by real runs, and the hourly counts behind it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from monitor.config import load_config
from monitor.flow.retention import prune
from monitor.store import Store
from monitor.store.schema import hourly_counts
from tests.conftest import WEBHOOK_SECRET, FakeClock, FeedServer, Receiver, count_rows, run_once
from tests.test_cli import newsmon

PIPED = {"FORCE_COLOR": "", "NO_COLOR": ""}


def troubled_config(
    write_config,
    tmp_path: Path,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    state: str | None = None,
) -> Path:
    """One feed read, one failing at its first error, a webhook that refuses for good."""
    good = feeds.set("seed.xml", seed_feed)
    broken = feeds.set("broken.xml", b"", status=404)
    state = state or f"sqlite:///{tmp_path / 's.db'}"
    return write_config(
        f"state: {state}\n"
        "defaults:\n  backfill: all\n  allow_private: true\n  failing_after: 1\n"
        f"feeds:\n  - url: {good}\n  - url: {broken}\n"
        "rules:\n  - id: belarus\n    query: 'Belarus*'\n"
        f"sinks:\n  hook:\n    type: webhook\n    url: {receiver.url}\n"
        f"    secret: {WEBHOOK_SECRET}\n    retries: []\n"
    )


async def test_status_says_what_needs_attention_and_exits_1(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    config = troubled_config(write_config, tmp_path, feeds, receiver, seed_feed)
    receiver.answer(500)
    code, out, err = await newsmon("run", "--once", "--json", "--config", str(config))
    assert json.loads(out)["deliveries"] == {"dead": 1}, err

    code, out, _ = await newsmon("status", "--json", "--config", str(config))
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["feeds"] == {"ok": 1, "failing": 1}
    assert report["last_hour"]["polls"] == {"ok": 1, "error": 1}
    assert report["last_hour"]["new_entries"] == 3
    assert report["dead_letters"] == 1
    hook = report["sinks"]["hook"]
    assert (hook["state"], hook["alerts"], hook["attempts_last_hour"]) == (
        "enabled",
        {"dead": 1},
        {"dead": 1},
    )
    assert hook["oldest_pending_age"] is None
    assert report["schedule"]["late"] == []
    assert [r.split(" ")[1:3] for r in report["attention"]] == [
        ["feed", "failing"],
        ["dead", "letter:"],
    ]

    code, out, _ = await newsmon("status", "--config", str(config), env=PIPED)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "newsmon: needs attention"
    assert lines[1] == "feeds:        1 ok, 1 failing"
    assert lines[2].endswith(":  2 polls (1 error, 1 ok), 3 new entries")
    assert "dead letters: 1" in lines
    [row] = [line for line in lines if line.startswith("hook ")]
    assert row.split() == ["hook", "enabled", "0", "-", "1", "0", "1", "dead"]
    assert "! 1 feed failing (tolerated: 0)" in lines


async def test_status_is_green_when_all_is_well_and_tolerates_failing_feeds(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    config = troubled_config(write_config, tmp_path, feeds, receiver, seed_feed)
    code, out, _ = await newsmon("run", "--once", "--json", "--config", str(config))
    assert json.loads(out)["deliveries"] == {"delivered": 1}
    code, out, _ = await newsmon("status", "--max-failing", "1", "--config", str(config))
    assert code == 0, out
    assert out.startswith("newsmon: all is well\n")
    code, out, _ = await newsmon("status", "--json", "--config", str(config))
    assert code == 1
    assert json.loads(out)["attention"] == ["1 feed failing (tolerated: 0)"]


async def test_status_reports_a_schedule_late_past_the_interval(
    write_config, tmp_path: Path, feeds: FeedServer, seed_feed: bytes
) -> None:
    """Polled days ago (an injected clock) with a 10 minute interval: nobody is polling."""
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\n"
        f"defaults:\n  allow_private: true\n  interval: 10m\nfeeds:\n  - url: {url}\n"
    )
    await run_once(config, FakeClock())
    code, out, _ = await newsmon("status", "--json", "--config", str(config))
    assert code == 1
    report = json.loads(out)
    assert report["schedule"]["feed"] == url
    assert report["schedule"]["late"] == [url]
    assert report["schedule"]["lag"] > 86400
    assert report["last_hour"]["polls"] == {}  # that poll was days ago
    assert "polled later than its interval" in report["attention"][0]


async def test_hourly_counts_are_one_row_per_hour_and_kind_and_are_pruned(
    write_config,
    tmp_path: Path,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    state: str,
) -> None:
    """Upserts on SQLite and PostgreSQL: counts add up in their hour's row."""
    config = troubled_config(write_config, tmp_path, feeds, receiver, seed_feed, state)
    clock = FakeClock(datetime(2026, 11, 25, 12, 5, tzinfo=UTC))
    for _ in range(3):  # three polls of both feeds within the hour
        await run_once(config, clock)
        clock.advance(600)
    store = await Store.open(state, clock)
    try:
        async with store.engine.connect() as conn:
            rows = (await conn.execute(sa.select(hourly_counts))).all()
        got = {(r.kind, r.sink, r.outcome): r.n for r in rows}
        assert got == {
            ("poll", "", "ok"): 1,
            ("poll", "", "not_modified"): 2,
            ("poll", "", "error"): 3,
            ("new_entries", "", ""): 3,
            ("alert", "hook", "delivered"): 1,
        }
        assert {r.hour for r in rows} == {datetime(2026, 11, 25, 12, tzinfo=UTC)}
        clock.advance(36 * 86400)  # past retention.counts (35 days)
        counts = await prune(store, load_config(config).settings)
        assert counts["counts"] == 5
        assert await count_rows(store, "hourly_counts") == 0
    finally:
        await store.close()


async def test_dead_letters_are_discarded_one_or_by_sink_and_status_turns_green(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\n"
        f"defaults:\n  backfill: all\n  allow_private: true\nfeeds:\n  - url: {url}\n"
        "rules:\n  - id: belarus\n    query: 'Belarus*'\n  - id: sanksi\n    query: 'sanksi'\n"
        f"sinks:\n  hook:\n    type: webhook\n    url: {receiver.url}\n"
        f"    secret: {WEBHOOK_SECRET}\n    retries: []\n"
    )
    receiver.answer(500, 500)
    code, out, _ = await newsmon("run", "--once", "--json", "--config", str(config))
    assert json.loads(out)["deliveries"] == {"dead": 2}
    code, out, _ = await newsmon("alerts", "--status", "dead", "--json", "--config", str(config))
    first, second = (json.loads(line)["id"] for line in out.splitlines())

    code, out, _ = await newsmon("alerts", "discard", first, "--config", str(config))
    assert (code, out) == (0, f"{first}: discarded\n")
    code, _, err = await newsmon("alerts", "discard", first, "--config", str(config))
    assert (code, err) == (1, f"no dead alert with id {first}\n")  # not dead any more
    code, out, _ = await newsmon("status", "--json", "--config", str(config))
    assert json.loads(out)["dead_letters"] == 1

    args = ("alerts", "discard", "--sink", "hook", "--json", "--config", str(config))
    code, out, _ = await newsmon(*args, "--before", "2000-01-01")
    assert json.loads(out) == {"discarded": []}  # created after that date
    code, out, _ = await newsmon(*args, "--before", "2999-01-01T00:00:00+07:00")
    assert json.loads(out) == {"discarded": [second]}

    code, out, _ = await newsmon("status", "--json", "--config", str(config))
    report = json.loads(out)
    assert (code, report["ok"], report["dead_letters"]) == (0, True, 0)
    assert report["sinks"]["hook"]["alerts"] == {"discarded": 2}
    assert report["sinks"]["hook"]["attempts_last_hour"] == {"dead": 2, "discarded": 2}
    code, out, _ = await newsmon("alerts", "--status", "discarded", "--config", str(config))
    assert out.count("  discarded 20") == 2  # when, recorded
    code, out, _ = await newsmon("alerts", "replay", second, "--config", str(config))
    assert code == 1  # a discarded alert is not dead: it stays given up

    code, _, err = await newsmon("alerts", "discard", "--config", str(config))
    assert code == 2
    assert "give an alert id, or --sink NAME" in err
