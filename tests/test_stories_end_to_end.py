"""Stories over loopback: one alert per story across feeds, revisions, unstable GUIDs, pruning.

The seed article reaches newsmon the ways it does in the wild: from Tagar (its link carries
utm_ parameters), from VOA Indonesia (its own link, another lead paragraph) and from an
aggregator (Tagar's link with other tracking parameters). Each runs as a fresh daemon (a restart
between passes), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.flow.retention import prune
from monitor.stages.message import Renderer
from monitor.store import Store
from tests.configs import rule, webhook
from tests.conftest import FakeClock, FeedServer, Receiver, count_rows, run_once
from tests.test_digest import check_payload

TAGAR_LINK = "https://www.tagar.id/belarusia-dan-rusia-tanggapi-ancaman-politik-eksternal"
LEAD = (
    "Jakarta - Presiden Belarusia Alexander Lukashenko mengatakan kepada Menteri Luar Negeri "
    "AS Mike Pompeo lewat telepon Sabtu, 24 Oktober 2020, bahwa Belarusia dan Rusia siap "
    "bekerja sama menanggapi ancaman ekstrenal, kata kantor berita Rusia yang mengutip kantor "
    "berita Belarus."
)
VOA_LEAD = (
    "Minsk (VOA) - Pemimpin Belarus Alexander Lukashenko, dalam percakapan telepon dengan "
    "Menlu AS Mike Pompeo pada Sabtu (24/10), menyatakan negaranya dan Rusia akan bersama-sama "
    "menghadapi ancaman dari luar."
)
EMBARGO = " Uni Eropa juga membahas embargo senjata terhadap Minsk."


RULES = [
    rule("belarus", "Belarus*", notify_updates=True),
    rule("sanksi", "sanksi"),
    rule("embargo", "embargo"),
]


def seed_item(seed_feed: bytes) -> str:
    text = seed_feed.decode()
    return text[text.index("<item>") : text.index("</item>") + len("</item>")]


def rss(title: str, *items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><language>id</language>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def relinked(item: str, link: str, guid: str) -> str:
    item = re.sub(r"<link>.*?</link>", f"<link>{link}</link>", item)
    return re.sub(r"<guid[^>]*>.*?</guid>", f'<guid isPermaLink="false">{guid}</guid>', item)


@pytest.fixture
def make_config(write_config, state: str, receiver: Receiver):
    def make(*urls: str) -> Path:
        return write_config(
            state=state,
            defaults={"backfill": "all"},
            feeds=urls,
            rules=RULES,
            sinks={"hook": webhook(receiver.url)},
        )

    return make


@asynccontextmanager
async def opened(state: str, clock: FakeClock) -> AsyncIterator[Store]:
    store = await Store.open(state, clock)
    try:
        yield store
    finally:
        await store.close()


async def alerts_in(state: str, clock: FakeClock) -> list[dict[str, Any]]:
    async with opened(state, clock) as store:
        return await store.list_alerts(limit=100)


def posts(receiver: Receiver) -> list[tuple[str, str]]:
    """(type, rule) of every POST, checked against the published payload schema."""
    for delivery in receiver.deliveries:
        check_payload(delivery.json)
    return [(d.json["type"], d.json["data"]["rule"]["id"]) for d in receiver.deliveries]


async def test_the_seed_article_from_three_feeds_is_one_story_with_one_alert_per_rule(
    capsys: pytest.CaptureFixture[str],
    make_config,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    state: str,
) -> None:
    item = seed_item(seed_feed)
    tagar = feeds.set("tagar.xml", seed_feed)
    voa = feeds.set(
        "voa.xml",
        rss(
            "VOA Indonesia",
            relinked(
                item.replace(LEAD, VOA_LEAD),
                "https://www.voaindonesia.com/a/belarus-rusia-ancaman/5634211.html",
                "voa-5634211",
            ),
        ),
    )
    aggregator = feeds.set(
        "berita.xml",
        rss(
            "Kumpulan Berita",
            relinked(item, f"{TAGAR_LINK}?utm_source=agg&amp;fbclid=xyz#top", "agg-991"),
        ),
    )
    config = make_config(tagar)
    await run_once(config, clock)
    assert sorted(posts(receiver)) == [
        ("article.matched", "belarus"),
        ("article.matched", "sanksi"),
    ]

    # The two other outlets come later: nothing more is sent, they are "also reported by".
    config = make_config(tagar, voa, aggregator)
    clock.advance(3600)
    summary = await run_once(config, clock)
    assert summary.new == 2
    assert len(receiver.deliveries) == 2

    alerts = await alerts_in(state, clock)
    assert len(alerts) == 2
    for alert in alerts:
        others = {report["feed_url"] for report in alert["also_reported_by"]}
        assert others == {voa, aggregator}

    capsys.readouterr()
    assert await asyncio.to_thread(main, ["alerts", "--config", str(config)]) == 0
    shown = capsys.readouterr().out
    lines = [line for line in shown.splitlines() if "also reported by: " in line]
    assert len(lines) == 2
    for line in lines:
        assert sorted(line.split(": ", 1)[1].split(", ")) == ["Kumpulan Berita", "VOA Indonesia"]


async def test_a_materially_different_story_is_not_merged(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    """A follow-up on the same event shares words, not the story: it alerts on its own."""
    tagar = feeds.set("tagar.xml", seed_feed)
    follow_up = (
        "<item><title>Lukashenko Tolak Ultimatum Oposisi Belarus</title>"
        "<link>https://www.voaindonesia.com/a/lukashenko-tolak-ultimatum/5635000.html</link>"
        "<guid>voa-5635000</guid><description>Presiden Belarus Alexander Lukashenko menolak "
        "ultimatum oposisi untuk mundur, sementara ribuan pekerja pabrik di Minsk mulai mogok "
        "nasional pada Senin. Polisi menahan puluhan demonstran di ibu kota dan beberapa kota "
        "lain, kata kelompok hak asasi Viasna.</description></item>"
    )
    voa = feeds.set("voa.xml", rss("VOA Indonesia", follow_up))
    await run_once(make_config(tagar, voa), clock)
    titles = sorted(d.json["data"]["article"]["title"] for d in receiver.deliveries)
    assert titles == [
        "Belarusia dan Rusia Tanggapi Ancaman Politik Eksternal",
        "Belarusia dan Rusia Tanggapi Ancaman Politik Eksternal",
        "Lukashenko Tolak Ultimatum Oposisi Belarus",
    ]


async def test_an_edit_alerts_only_rules_that_ask_for_updates_or_start_to_match(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    tagar = feeds.set("tagar.xml", seed_feed)
    config = make_config(tagar)
    await run_once(config, clock)
    assert len(receiver.deliveries) == 2

    # A time stamp is not news: nothing is sent.
    feeds.set("tagar.xml", seed_feed.replace(b"</channel>", b"<!-- 10:32 WIB --></channel>"))
    clock.advance(3600)
    await run_once(config, clock)
    assert len(receiver.deliveries) == 2

    edited = seed_feed.replace(
        b"(vm/ft)/voaindonesia.com.", EMBARGO.encode() + b" (vm/ft)/voaindonesia.com."
    )
    feeds.set("tagar.xml", edited)
    clock.advance(3600)
    summary = await run_once(config, clock)
    assert summary.new == 0
    new_posts = posts(receiver)[2:]
    assert sorted(new_posts) == [("article.matched", "embargo"), ("article.updated", "belarus")]
    updated = next(
        d.json["data"] for d in receiver.deliveries if d.json["type"] == "article.updated"
    )
    assert updated["revision"] == 1
    assert updated["diff"]["fields"] == ["content"]
    assert [run for run in updated["diff"]["content"]["added"] if "embargo" in run]
    assert updated["diff"]["content"]["removed"] == []
    ids = [d.id for d in receiver.deliveries]
    assert len(set(ids)) == len(ids)

    # The same edit seen again, and another restart: nothing more.
    clock.advance(3600)
    await run_once(config, clock)
    assert len(receiver.deliveries) == 4


async def test_guids_that_change_on_every_fetch_give_no_repeat_alerts(
    make_config,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    state: str,
) -> None:
    item = seed_item(seed_feed)
    url = feeds.url("churn.xml")
    config = make_config(url)
    for fetch in range(4):
        feeds.set(
            "churn.xml",
            rss("Churn", relinked(item, f"{TAGAR_LINK}?utm_source=rss", f"session-{fetch}")),
        )
        await run_once(config, clock)
        clock.advance(3600)
    assert sorted(posts(receiver)) == [
        ("article.matched", "belarus"),
        ("article.matched", "sanksi"),
    ]
    async with opened(state, clock) as store:
        [feed] = await store.list_feeds()
        assert feed["identity"] == "link"
        assert feed["entries"] == 1


async def test_entries_that_leave_the_feed_and_come_back_are_not_new(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    item = seed_item(seed_feed)
    tagar = feeds.set("tagar.xml", seed_feed)
    config = make_config(tagar)
    await run_once(config, clock)
    feeds.set("tagar.xml", seed_feed.replace(item.encode(), b""))
    clock.advance(3600)
    await run_once(config, clock)
    feeds.set("tagar.xml", seed_feed)
    clock.advance(3600)
    summary = await run_once(config, clock)
    assert summary.new == 0
    assert len(receiver.deliveries) == 2


async def test_a_pruned_story_that_reappears_does_not_alert_again(
    capsys: pytest.CaptureFixture[str],
    make_config,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    state: str,
) -> None:
    item = seed_item(seed_feed)
    tagar = feeds.set("tagar.xml", seed_feed)
    config = make_config(tagar)
    await run_once(config, clock)
    assert len(receiver.deliveries) == 2
    feeds.set("tagar.xml", seed_feed.replace(item.encode(), b""))
    clock.advance(3600)
    await run_once(config, clock)

    # 100 days of polls later the entry (gone from its feed since) is pruned to a tombstone,
    # and the alerts' payloads are dropped; its key, hashes and the alerts' keys stay.
    for _ in range(10):
        clock.advance(10 * 86400)
        await run_once(config, clock)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["prune", "--json", "--config", str(config)]) == 0
    assert '"entries": 0' in capsys.readouterr().out  # the real clock: nothing is old yet
    async with opened(state, clock) as store:
        counts = await prune(store, load_config(config).settings)
        assert counts["entries"] == 1
        assert counts["payloads"] == 2
        assert counts["tombstones"] == 0
        assert await count_rows(store, "alerts") == 2

    # It comes back, edited, and another outlet carries it too: still nothing.
    voa_copy = relinked(item, f"{TAGAR_LINK}?utm_campaign=again", "voa-copy")
    feeds.set("tagar.xml", seed_feed.replace(b"sanksi-sanksi", b"sanksi-sanksi keras"))
    voa = feeds.set("voa.xml", rss("VOA Indonesia", voa_copy))
    summary = await run_once(make_config(tagar, voa), clock)
    assert summary.new == 1  # the VOA copy: a new entry of a known story
    assert len(receiver.deliveries) == 2


async def test_a_removed_feed_added_again_does_not_alert_its_old_entries(
    make_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, clock: FakeClock
) -> None:
    tagar = feeds.set("tagar.xml", seed_feed)
    other = feeds.set("other.xml", rss("Other"))
    await run_once(make_config(tagar), clock)
    assert len(receiver.deliveries) == 2
    clock.advance(3600)
    await run_once(make_config(other), clock)
    clock.advance(3600)
    summary = await run_once(make_config(tagar, other), clock)  # backfill: all, still silent
    assert summary.new == 0
    assert len(receiver.deliveries) == 2


async def test_retention_keeps_the_database_bounded(
    make_config, feeds: FeedServer, receiver: Receiver, clock: FakeClock, state: str
) -> None:
    """Entries gone from their feed for long are pruned, then forgotten with their stories."""
    url = feeds.url("daily.xml")
    config = make_config(url)
    settings = load_config(config).settings
    words = (
        "gempa banjir pemilu anggaran harga beras vaksin sekolah nelayan bandara kereta listrik "
        "pajak ekspor hutan sungai jalan tol pasar petani guru dokter hakim jaksa polisi"
    ).split()
    for day in range(5):
        items = [
            f"<item><title>Kabar {day}-{n}</title>"
            f"<link>https://example.org/{day}/{n}</link><guid>{day}-{n}</guid>"
            f"<description>{' '.join(random.Random(day * 3 + n).sample(words, 20))}"
            "</description></item>"
            for n in range(3)
        ]
        feeds.set("daily.xml", rss("Daily", *items))
        await run_once(config, clock)
        clock.advance(100 * 86400)
    async with opened(state, clock) as store:
        assert await count_rows(store, "entries") == 15
        counts = await prune(store, settings)
        # Day 4's entries are fresh (still listed); days 2-3 become tombstones; 0-1 go.
        assert counts["tombstones"] == 6
        assert await count_rows(store, "entries") == 9
        assert await count_rows(store, "stories") == 9
        assert await count_rows(store, "entries", pruned_at=None) == 3
        assert await count_rows(store, "story_bands") == 0
    assert timedelta(seconds=settings.defaults.retention.tombstones) == timedelta(days=365)


async def test_a_digest_lists_the_other_outlets_of_each_story(
    write_config,
    state: str,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
) -> None:
    item = seed_item(seed_feed)
    tagar = feeds.set("tagar.xml", seed_feed)
    voa = feeds.set(
        "voa.xml",
        rss(
            "VOA Indonesia",
            relinked(item, "https://www.voaindonesia.com/a/5634211.html", "voa-5634211"),
        ),
    )

    def config_with(*feeds: dict[str, str]) -> Path:
        return write_config(
            state=state,
            defaults={"backfill": "all"},
            feeds=feeds,
            rules=RULES,
            sinks={"hook": webhook(receiver.url, digest="0 8 * * *")},
        )

    config = config_with({"url": tagar, "name": "Tagar"})
    await run_once(config, clock)  # 12:00 UTC: the alerts wait for 08:00
    config = config_with({"url": tagar, "name": "Tagar"}, {"url": voa, "name": "VOA Indonesia"})
    clock.advance(3600)
    await run_once(config, clock)
    assert receiver.deliveries == []
    clock.advance(20 * 3600)  # past 08:00 UTC
    await run_once(config, clock)
    [digest] = receiver.deliveries
    payload = digest.json
    check_payload(payload)
    items = payload["data"]["items"]
    assert sorted(i["rule"]["id"] for i in items) == ["belarus", "sanksi"]
    for digest_item in items:
        assert [r["feed"] for r in digest_item["also_reported_by"]] == ["VOA Indonesia"]
        assert digest_item["also_reported_by"][0]["url"] == (
            "https://www.voaindonesia.com/a/5634211.html"
        )
    text = Renderer("text").render(payload)
    assert text.count("also reported by VOA Indonesia") == 2


async def test_items_that_all_link_to_the_home_page_are_each_their_own_story(
    make_config, feeds: FeedServer, receiver: Receiver, clock: FakeClock, state: str
) -> None:
    """A shared link tells neither an entry nor a story: every item alerts once."""

    def item(n: int, text: str) -> str:
        return (
            f"<item><title>Kabar {n}</title><link>https://radio.example/?utm_source=rss</link>"
            f"<guid>kabar-{n}</guid><description>{text}</description></item>"
        )

    first = item(1, "Amerika menjatuhkan sanksi baru kepada pejabat Belarus di Minsk.")
    second = item(2, "Kementerian keuangan mengumumkan sanksi bagi importir gula ilegal.")
    third = item(3, "Dewan keamanan membahas sanksi terhadap kapal tanker di Selat Hormuz.")
    url = feeds.set("radio.xml", rss("Radio", first, second))
    config = make_config(url)
    await run_once(config, clock)
    feeds.set("radio.xml", rss("Radio", second, third))  # the first leaves, a third comes
    clock.advance(3600)
    await run_once(config, clock)
    sanksi = [
        d.json["data"]["article"]["title"]
        for d in receiver.deliveries
        if d.json["data"]["rule"]["id"] == "sanksi"
    ]
    assert sorted(sanksi) == ["Kabar 1", "Kabar 2", "Kabar 3"]
    async with opened(state, clock) as store:
        [feed] = await store.list_feeds()
        assert feed["identity"] == "guid"
        assert await count_rows(store, "stories") == 3
