"""Digests and the payload contract: one digest per cron time, and every payload fits its schema."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from monitor.config import load_config
from monitor.stages.digests import digest_trigger, latest_fire
from monitor.store import Store
from tests.configs import rule, webhook
from tests.conftest import FakeClock, FeedServer, Receiver, count_rows, run_once
from tests.test_end_to_end import SECRET, with_item

SCHEMA = json.loads(
    resources.files("monitor.data").joinpath("webhook-payload.schema.json").read_text()
)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_payload(payload: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(payload), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_schema_is_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize(
    ("last", "now", "cut"),
    [
        ("2026-11-24T01:00:00", "2026-11-25T00:59:59", None),  # 08:00 Jakarta not yet come
        ("2026-11-24T01:00:00", "2026-11-25T01:00:00", "2026-11-25T01:00:00"),
        ("2026-11-20T01:00:00", "2026-11-25T12:00:00", "2026-11-25T01:00:00"),  # the latest one
        ("2026-11-25T01:00:00", "2026-11-25T12:00:00", None),  # already cut
    ],
)
def test_the_latest_fire_time_is_read_in_the_sinks_time_zone(last, now, cut) -> None:
    trigger = digest_trigger("0 8 * * *", "Asia/Jakarta")  # 08:00 WIB is 01:00 UTC

    def utc(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    assert latest_fire(trigger, utc(last), utc(now)) == (utc(cut) if cut else None)


@pytest.fixture
def digest_config(write_config, state: str, feeds: FeedServer, receiver: Receiver):
    receiver.secrets = (SECRET,)
    return write_config(
        state=state,
        defaults={"backfill": "all"},
        feeds=[{"url": feeds.url("seed.xml"), "name": "Tagar"}],
        rules=[rule("belarus", "Belarus*", name="Belarus"), rule("sanksi", "sanksi")],
        sinks={
            "now": webhook(receiver.url, SECRET),
            "morning": webhook(receiver.url, SECRET, digest="0 8 * * *", timezone="Asia/Jakarta"),
        },
    )


def by_type(receiver: Receiver, kind: str) -> list[dict[str, Any]]:
    return [d.json for d in receiver.deliveries if d.json["type"] == kind]


async def test_a_digest_sink_gets_one_digest_per_fire_time_of_everything_since_the_last(
    digest_config: Path,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    state: str,
) -> None:
    """Alerts for the digest sink wait while the other sink gets them at once; after 08:00 in
    Jakarta one digest holds both; the next one holds only what came since."""
    feeds.set("seed.xml", seed_feed)
    await run_once(digest_config, clock)  # 12:00 UTC: after today's 01:00 UTC fire time
    assert len(by_type(receiver, "article.matched")) == 2
    assert by_type(receiver, "digest") == []

    clock.advance(12 * 3600)  # 00:00 UTC: not yet 08:00 in Jakarta
    await run_once(digest_config, clock)
    assert by_type(receiver, "digest") == []

    clock.advance(3600)  # 01:00 UTC = 08:00 WIB
    await run_once(digest_config, clock)
    [digest] = by_type(receiver, "digest")
    check_payload(digest)
    data = digest["data"]
    assert data["sink"] == "morning"
    assert data["count"] == 2
    assert data["until"] == "2026-11-26T01:00:00Z"
    assert data["since"] == "2026-11-25T12:00:00Z"
    assert sorted(item["rule"]["id"] for item in data["items"]) == ["belarus", "sanksi"]
    matched_ids = {d.id for d in receiver.deliveries if d.json["type"] == "article.matched"}
    assert not matched_ids & {item["id"] for item in data["items"]}  # each alert per sink

    clock.advance(3600)
    await run_once(digest_config, clock)  # the same day: nothing more
    assert len(by_type(receiver, "digest")) == 1

    feeds.set("seed.xml", with_item(seed_feed, "s2", "Sanksi baru", "Paket sanksi baru."))
    clock.advance(10 * 3600)  # 12:00 UTC: the new item is polled and waits
    await run_once(digest_config, clock)
    assert len(by_type(receiver, "digest")) == 1
    clock.advance(14 * 3600)  # 02:00 UTC the next day: past 08:00 WIB
    await run_once(digest_config, clock)
    digests = by_type(receiver, "digest")
    assert len(digests) == 2
    assert digests[1]["data"]["count"] == 1
    assert digests[1]["data"]["since"] == "2026-11-26T01:00:00Z"
    assert digests[1]["data"]["items"][0]["article"]["title"] == "Sanksi baru"

    store = await Store.open(state, clock)
    try:
        assert await count_rows(store, "alerts", sink="morning", state="digested") == 3
        assert await count_rows(store, "alerts", kind="digest", state="delivered") == 2
        listed = await store.list_alerts(sink="morning")
        assert {row["digest_id"] for row in listed if row["kind"] != "digest"} == {
            d.headers["webhook-id"] for d in receiver.deliveries if d.json["type"] == "digest"
        }
    finally:
        await store.close()


async def test_two_nodes_cutting_the_same_digest_make_one(
    digest_config: Path, feeds: FeedServer, seed_feed: bytes, clock: FakeClock, state: str
) -> None:
    """The digest's id comes from the sink and the fire time: a second cut finds nothing."""
    from monitor.base.ids import digest_id
    from monitor.stages.alerts import digest_payload

    feeds.set("seed.xml", seed_feed)
    await run_once(digest_config, clock)
    clock.advance(13 * 3600)
    cut = datetime(2026, 11, 26, 1, tzinfo=UTC)
    stores = [await Store.open(state, clock) for _ in range(2)]
    try:
        counts = [
            await store.collect_digest(
                "morning", digest_id("morning", cut), cut, lambda d: digest_payload(d, clock.now)
            )
            for store in stores
        ]
        assert counts == [2, 0]
        assert await count_rows(stores[0], "alerts", kind="digest") == 1
    finally:
        for store in stores:
            await store.close()


async def test_real_payloads_fit_the_published_schema(
    digest_config: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    """Every article.matched body newsmon sent validates; so does an article.updated one (a
    matched payload with a diff, as revisions will send) and a malformed one does not."""
    feeds.set("seed.xml", seed_feed)
    await run_once(digest_config, clock)
    sent = by_type(receiver, "article.matched")
    assert sent
    for payload in sent:
        check_payload(payload)
    updated = json.loads(json.dumps(sent[0]))
    updated["type"] = "article.updated"
    updated["data"]["diff"] = {
        "fields": ["title"],
        "title": {"before": "Belarusia", "after": "Belarusia dan Rusia"},
    }
    check_payload(updated)
    for broken in (
        {**sent[0], "type": "article.updated"},  # an update without its diff
        {**sent[0], "data": {**sent[0]["data"], "version": 2}},
        {k: v for k, v in sent[0].items() if k != "timestamp"},
    ):
        assert list(VALIDATOR.iter_errors(broken))


def test_the_schema_file_is_shipped_in_the_package() -> None:
    """Receivers can find it beside the code that produces the payloads."""
    path = Path(str(resources.files("monitor.data").joinpath("webhook-payload.schema.json")))
    assert path.is_file()
    assert SCHEMA["$defs"]["version"] == {"const": 1}


async def test_a_digest_missed_while_down_goes_out_at_start(
    digest_config: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    """Three days without a run: the next run sends one digest of all that waited."""
    feeds.set("seed.xml", seed_feed)
    await run_once(digest_config, clock)
    clock.advance(3 * 86400 + timedelta(hours=1).total_seconds())
    await run_once(load_config(digest_config), clock)
    [digest] = by_type(receiver, "digest")
    assert digest["data"]["count"] == 2
    assert digest["data"]["until"] == "2026-11-28T01:00:00Z"


def drop_digest(config: Path) -> None:
    document = yaml.safe_load(config.read_text())
    del document["sinks"]["morning"]["digest"]
    config.write_text(yaml.safe_dump(document, sort_keys=False))


async def test_the_daemon_runs_one_cron_job_per_digest_sink_in_its_time_zone(
    digest_config: Path, feeds: FeedServer, seed_feed: bytes
) -> None:
    """APScheduler is the clock: a CronTrigger job for 'morning' at 08:00 Jakarta time, none
    for the sink that sends at once; a reload that drops the digest removes the job."""
    from zoneinfo import ZoneInfo

    from monitor.app.daemon import Daemon

    feeds.set("seed.xml", seed_feed)
    stop = asyncio.Event()
    async with Daemon(
        load_config(digest_config), config_path=digest_config, parse_pool=None
    ) as daemon:
        running = asyncio.create_task(daemon.run(stop))
        try:
            async with asyncio.timeout(10):
                while daemon._scheduler is None or not daemon._scheduler.running:
                    await asyncio.sleep(0.01)
                scheduler = daemon._scheduler
                job = scheduler.get_job("digest:morning")
                assert job is not None
                when = job.next_run_time.astimezone(ZoneInfo("Asia/Jakarta"))
                assert (when.hour, when.minute) == (8, 0)
                assert scheduler.get_job("digest:now") is None

                await asyncio.to_thread(drop_digest, digest_config)
                assert await daemon.reload()
                assert scheduler.get_job("digest:morning") is None
        finally:
            stop.set()
            async with asyncio.timeout(30):
                await running
