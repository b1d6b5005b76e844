"""End to end over loopback: seed feed -> newsmon -> webhook receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from standardwebhooks import Webhook

from monitor.config import load_config
from monitor.store import Store
from tests.configs import rule, webhook
from tests.conftest import FakeClock, FeedServer, Receiver, count_rows, run_once

SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLW5ld3Ntb24tdGVzdHM="

RULES = [rule("belarus", "Belarus*", name="Belarus"), rule("sanksi", "sanksi")]


def with_item(feed: bytes, guid: str, title: str, text: str) -> bytes:
    item = (
        f"<item><title>{title}</title><link>https://www.tagar.id/{guid}</link>"
        f'<guid isPermaLink="false">{guid}</guid>'
        f"<pubDate>Mon, 26 Oct 2020 10:00:00 +0700</pubDate>"
        f"<description>{text}</description></item>"
    )
    return feed.replace(b"</channel>", item.encode() + b"</channel>")


@pytest.fixture
def make_config(write_config, state: str, feeds: FeedServer, receiver: Receiver):
    receiver.secrets = (SECRET,)  # every delivery is verified by the spec authors' package

    def make(first_sync: dict[str, str] | None = None) -> Path:
        return write_config(
            state=state,
            defaults=first_sync or {"backfill": "all"},
            feeds=[{"url": feeds.url("seed.xml"), "name": "Tagar", "language": "id"}],
            rules=RULES,
            sinks={"hook": webhook(receiver.url, SECRET)},
        )

    return make


async def test_backfill_alerts_once_per_rule_for_the_seed_article_only(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    """With backfill on, the seed article gives exactly one POST per rule; the other items none."""
    feeds.set("seed.xml", seed_feed)
    summary = await run_once(make_config(), clock)

    assert summary.new == 3
    by_rule = {d.json["data"]["rule"]["id"]: d for d in receiver.deliveries}
    assert sorted(by_rule) == ["belarus", "sanksi"]
    assert len(receiver.deliveries) == 2
    for delivery in receiver.deliveries:
        Webhook(SECRET).verify(delivery.body, delivery.headers)  # spec authors' verifier
        article = delivery.json["data"]["article"]
        assert article["title"] == "Belarusia dan Rusia Tanggapi Ancaman Politik Eksternal"
        assert article["url"].startswith("https://www.tagar.id/belarusia-dan-rusia")
        assert article["canonical_url"] == (
            "https://www.tagar.id/belarusia-dan-rusia-tanggapi-ancaman-politik-eksternal"
        )
        assert article["feed"]["name"] == "Tagar"
        assert article["published"] == "2020-10-25T02:30:00Z"
        assert delivery.json["type"] == "article.matched"
    belarus_words = {hit["text"] for hit in by_rule["belarus"].json["data"]["hits"]}
    assert {"Belarusia", "Belarus"} <= belarus_words
    sanksi_hits = by_rule["sanksi"].json["data"]["hits"]
    assert [hit["text"] for hit in sanksi_hits] == ["sanksi-sanksi"]
    assert sanksi_hits[0]["term"] == "sanksi"
    assert "sanksi-sanksi" in sanksi_hits[0]["snippet"]
    assert by_rule["belarus"].id != by_rule["sanksi"].id


async def test_rerun_and_restart_send_nothing_then_one_post_for_a_new_item(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    """Polling again (each run is a fresh daemon: a restart) sends nothing; a new item, one POST."""
    feeds.set("seed.xml", seed_feed)
    config = make_config()
    await run_once(config, clock)
    assert len(receiver.deliveries) == 2

    for _ in range(2):
        clock.advance(3600)
        await run_once(config, clock)
    assert len(receiver.deliveries) == 2

    feeds.set(
        "seed.xml",
        with_item(
            seed_feed,
            "sanksi-baru",
            "Uni Eropa siapkan sanksi baru",
            "Paket sanksi baru untuk Minsk dibahas pekan ini.",
        ),
    )
    clock.advance(3600)
    summary = await run_once(config, clock)
    assert summary.new == 1
    assert len(receiver.deliveries) == 3
    last = receiver.deliveries[-1].json["data"]
    assert last["rule"]["id"] == "sanksi"
    assert last["article"]["title"] == "Uni Eropa siapkan sanksi baru"

    clock.advance(3600)
    await run_once(config, clock)
    assert len(receiver.deliveries) == 3


async def test_first_sync_is_silent_then_a_matching_new_item_alerts_once(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    """Default first sync records the feed's items without alerting; later items do alert."""
    feeds.set("seed.xml", seed_feed)
    config = make_config(first_sync={"interval": "10m"})
    summary = await run_once(config, clock)
    assert summary.new == 3
    assert receiver.deliveries == []

    feeds.set(
        "seed.xml",
        with_item(
            seed_feed,
            "belarus-2",
            "Belarus tutup perbatasan",
            "Pemerintah di Minsk menutup perbatasan.",
        ),
    )
    clock.advance(600)
    await run_once(config, clock)
    assert [d.json["data"]["rule"]["id"] for d in receiver.deliveries] == ["belarus"]
    assert receiver.deliveries[0].json["data"]["article"]["title"] == "Belarus tutup perbatasan"


async def test_failed_deliveries_are_retried_with_the_same_webhook_id(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    """A receiver answering 500 twice gets the alert on the third attempt, same id each time."""
    feeds.set("seed.xml", seed_feed.replace(b"sanksi-sanksi", b"tindakan"))  # only 'belarus'
    receiver.answer(500, 500)
    config = make_config()

    await run_once(config, clock)
    clock.advance(10)
    await run_once(config, clock)
    assert [d.id for d in receiver.deliveries][:1] * 2 == receiver.ids()
    clock.advance(400)
    summary = await run_once(config, clock)
    assert summary.deliveries["delivered"] == 1
    ids = receiver.ids()
    assert len(ids) == 3
    assert len(set(ids)) == 1
    timestamps = [int(d.headers["webhook-timestamp"]) for d in receiver.deliveries]
    assert timestamps == sorted(timestamps)

    clock.advance(86400)
    await run_once(config, clock)
    assert len(receiver.deliveries) == 3


async def test_alert_survives_a_receiver_that_is_down(
    make_config,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    state: str,
) -> None:
    """Connection refused keeps the alert pending; once the receiver is back it gets it, once."""
    feeds.set("seed.xml", seed_feed.replace(b"sanksi-sanksi", b"tindakan"))
    config = make_config()
    await receiver.stop()
    summary = await run_once(config, clock)
    assert summary.deliveries == {"retry": 1}

    store = await Store.open(state, clock)
    try:
        [pending] = await store.list_alerts(state="pending")
    finally:
        await store.close()
    assert "cannot connect" in pending["last_error"] or "Connect" in pending["last_error"]

    await receiver.start()  # same port
    clock.advance(10)
    await run_once(config, clock)
    assert receiver.ids() == [pending["id"]]

    clock.advance(86400)
    await run_once(config, clock)
    assert receiver.ids() == [pending["id"]]


async def test_parsing_in_the_process_pool_gives_the_same_alerts(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    """The default parse path (a fork-server process pool) produces the same alerts."""
    feeds.set("seed.xml", seed_feed)
    summary = await run_once(load_config(make_config()), clock, parse_pool="pool")
    assert summary.new == 3
    assert sorted(d.json["data"]["rule"]["id"] for d in receiver.deliveries) == [
        "belarus",
        "sanksi",
    ]


def feed_in(language: str, title: str, text: str, guid: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{guid}</title>'
        f"<link>https://news.example/</link><language>{language}</language>"
        f"<item><title>{title}</title><link>https://news.example/{guid}</link>"
        f"<guid>{guid}</guid><description>{text}</description></item></channel></rss>"
    ).encode()


async def test_misdeclared_languages_are_read_from_the_text_unless_configured(
    write_config, state: str, feeds: FeedServer, receiver: Receiver, clock: FakeClock
) -> None:
    """An Indonesian item in an en-US feed is matched as Indonesian (sanksi finds Disanksi and
    Sanksinya), an English item in an id feed as English (protest finds Protesters); a feed's
    configured language still wins. The payload says what was declared and detected."""
    from tests.test_digest import VALIDATOR

    receiver.secrets = (SECRET,)
    indonesian = (
        "Pejabat Disanksi karena Melanggar Aturan",
        "Sanksinya berupa penurunan pangkat selama tiga tahun, kata juru bicara kementerian.",
    )
    english = (
        "Protesters rally in Minsk",
        "Thousands protested against the disputed election result on Sunday.",
    )
    config = write_config(
        state=state,
        defaults={"backfill": "all"},
        feeds=[
            {
                "url": feeds.set("cms.xml", feed_in("en-US", *indonesian, guid="cms")),
                "name": "CMS left at en-US",
            },
            {
                "url": feeds.set("english.xml", feed_in("id", *english, guid="english")),
                "name": "English in an id feed",
            },
            {
                "url": feeds.set("forced.xml", feed_in("en-US", *indonesian, guid="forced")),
                "name": "Configured English",
                "language": "en",
            },
        ],
        rules=[rule("sanksi", "sanksi"), rule("protest", "protest")],
        sinks={"hook": webhook(receiver.url, SECRET)},
    )
    summary = await run_once(config, clock)
    assert summary.new == 3
    got = {
        (d.json["data"]["article"]["feed"]["name"], d.json["data"]["rule"]["id"]): d.json
        for d in receiver.deliveries
    }
    assert sorted(got) == [("CMS left at en-US", "sanksi"), ("English in an id feed", "protest")]
    cms = got["CMS left at en-US", "sanksi"]["data"]
    assert [h["text"] for h in cms["hits"]] == ["Disanksi", "Sanksinya"]
    article = cms["article"]
    assert (article["language"], article["declared_language"], article["detected_language"]) == (
        "id",
        "en",
        "id",
    )
    article = got["English in an id feed", "protest"]["data"]["article"]
    assert (article["language"], article["declared_language"], article["detected_language"]) == (
        "en",
        "id",
        "en",
    )
    for payload in got.values():
        VALIDATOR.validate(payload)
    store = await Store.open(state, clock)
    try:  # the configured feed's item was matched (and stored) as English: sanksi missed it
        stored = {
            (guid, language): await count_rows(
                store, "entries", url=f"https://news.example/{guid}", language=language
            )
            for guid, language in (("cms", "id"), ("english", "en"), ("forced", "en"))
        }
    finally:
        await store.close()
    assert stored == {("cms", "id"): 1, ("english", "en"): 1, ("forced", "en"): 1}
