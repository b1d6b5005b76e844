"""Whole polls against the fault-injecting server: what newsmon asks, what it skips, when it comes
back, and how each kind of broken feed ends up, without touching the others.

Each ``run_once`` is a fresh daemon on the same state (a restart), with an injected clock and a
parser that counts the bodies it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from monitor.app.daemon import Daemon, OnceSummary
from monitor.config import load_config
from monitor.store import Store
from tests.configs import rule, webhook
from tests.conftest import FakeClock, Receiver, run_once
from tests.evil_server import EvilServer
from tests.parsers import CountingParser


def item(guid: str, title: str, published: datetime | None = None) -> bytes:
    date = f"<pubDate>{format_datetime(published)}</pubDate>" if published else ""
    return (
        f"<item><guid>{guid}</guid><title>{title}</title>{date}"
        f"<description>{title}</description></item>"
    ).encode()


def with_items(feed: bytes, *items: bytes) -> bytes:
    return feed.replace(b"</channel>", b"".join(items) + b"</channel>")


Poll = Callable[..., Awaitable[OnceSummary]]


@pytest.fixture
def setup(
    write_config: Any, tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> Callable[..., tuple[Poll, CountingParser]]:
    """``setup(feeds, **defaults)`` -> (poll, parser): ``poll()`` runs newsmon once."""

    def make(feeds: list[Any], **defaults: Any) -> tuple[Poll, CountingParser]:
        config = load_config(
            write_config(
                defaults=defaults,
                feeds=feeds,
                rules=[rule("belarus", "Belarus*")],
                sinks={"hook": webhook(receiver.url)},
            )
        )
        parser = CountingParser()

        async def poll(advance: float = 0) -> OnceSummary:
            clock.advance(advance)
            return await run_once(config, clock, parse_pool=parser)

        return poll, parser

    return make


async def feed_rows(tmp_path: Path, clock: FakeClock) -> dict[str, dict[str, Any]]:
    store = await Store.open(f"sqlite:///{tmp_path / 'state.db'}", clock)
    try:
        return {row["url"]: row for row in await store.list_feeds()}
    finally:
        await store.close()


def entry_titles(tmp_path: Path, url: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(tmp_path / "state.db")) as db:
        query = "SELECT e.title FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE f.url = ?"
        return [title for (title,) in db.execute(query, (url,))]


# --- asking politely ---------------------------------------------------------------------------


async def test_a_304_leads_to_no_parse(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    url = evil.set("f.xml", seed_feed)
    poll, parser = setup([url])
    assert (await poll()).feeds == {"ok": 1}
    assert (await poll(3600)).feeds == {"not_modified": 1}
    first, second = evil.hits("f.xml")
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"]
    assert parser.urls == [url]  # parsed once, on the 200


async def test_the_same_bytes_without_validators_lead_to_no_parse(
    setup: Any, evil: EvilServer, seed_feed: bytes
) -> None:
    url = evil.set("f.xml", seed_feed, etag=False)
    poll, parser = setup([url])
    await poll()
    assert (await poll(3600)).feeds == {"not_modified": 1}
    assert len(evil.hits("f.xml")) == 2
    assert len(parser.urls) == 1


async def test_a_regenerated_body_is_scanned_not_parsed_until_an_entry_changes(
    setup: Any, evil: EvilServer, seed_feed: bytes, receiver: Receiver
) -> None:
    """A server that stamps a new <lastBuildDate> and comment on every response: the scan sees
    that no entry changed and skips the parse; a new entry is parsed and alerts."""
    poll, parser = setup([evil.url("churn")])
    await poll()
    assert (await poll(600)).feeds == {"unchanged": 1}
    assert (await poll(600)).feeds == {"unchanged": 1}
    assert len(parser.urls) == 1
    evil.churn_body = with_items(seed_feed, item("n1", "Belarus menutup perbatasan"))
    summary = await poll(600)
    assert (summary.feeds, summary.new, summary.alerts) == ({"ok": 1}, 1, 1)
    assert len(parser.urls) == 2
    assert [d.json["data"]["article"]["title"] for d in receiver.deliveries] == [
        "Belarus menutup perbatasan"
    ]


async def test_an_edited_entry_is_not_hidden_by_the_scan(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    poll, parser = setup([evil.url("churn")])
    await poll()
    evil.churn_body = seed_feed.replace(b"Timnas Bersiap", b"Timnas Siap")
    assert (await poll(600)).feeds == {"ok": 1}
    assert len(parser.urls) == 2


async def test_a_change_inside_cdata_is_not_hidden_by_the_scan(
    setup: Any, evil: EvilServer, seed_feed: bytes
) -> None:
    """Markup in a CDATA section is text: an edit of ``<date>...</date>`` written in an entry's
    content is an edit of the entry, not a volatile date for the scan to drop."""
    evil.churn_body = seed_feed.replace(b"<p>Harga cabai", b"<p><date>Senin pagi</date> Harga")
    poll, parser = setup([evil.url("churn")])
    await poll()
    evil.churn_body = seed_feed.replace(b"<p>Harga cabai", b"<p><date>Selasa sore</date> Harga")
    assert (await poll(600)).feeds == {"ok": 1}
    assert len(parser.urls) == 2


# --- when to come back -------------------------------------------------------------------------


def delay(row: dict[str, Any]) -> float:
    return float((row["next_poll_at"] - row["last_attempt_at"]).total_seconds())


@pytest.mark.parametrize(
    ("headers", "channel", "expected"),
    [
        ({}, b"", 600),
        ({"Cache-Control": "max-age=1800"}, b"", 1800),
        ({"Cache-Control": "max-age=86400"}, b"", 3600),  # capped at max_interval
        ({}, b"<ttl>40</ttl>", 2400),
        ({}, b"<ttl>600</ttl>", 3600),
    ],
)
async def test_caching_headers_and_ttl_lengthen_the_wait_up_to_max_interval(
    setup: Any,
    evil: EvilServer,
    seed_feed: bytes,
    tmp_path: Path,
    clock: FakeClock,
    headers: dict[str, str],
    channel: bytes,
    expected: float,
) -> None:
    body = seed_feed.replace(b"<item>", channel + b"<item>", 1)
    url = evil.set("f.xml", body, headers=headers)
    poll, _ = setup([url], interval="10m", max_interval="1h")
    await poll()
    row = (await feed_rows(tmp_path, clock))[url]
    assert expected * 0.9 <= delay(row) <= expected * 1.1


async def test_an_adaptive_feed_is_polled_as_often_as_it_publishes(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    """Twelve entries in the last hour: one every 5 minutes (within [2m, 1h])."""
    entries = [item(f"g{i}", f"t{i}", clock.now - timedelta(minutes=5 * i)) for i in range(1, 13)]
    url = evil.set("f.xml", with_items(seed_feed, *entries))
    poll, _ = setup([{"url": url, "adaptive": True}], max_interval="1h")
    await poll()
    row = (await feed_rows(tmp_path, clock))[url]
    assert row["entry_interval"] == 300  # the seed's 2020 entries are outside the week
    assert 0.9 * 300 <= delay(row) <= 1.1 * 300


async def test_an_expires_header_lengthens_the_wait(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    """``Expires`` 30 minutes after the server's ``Date``: the next poll in 30 minutes, not at
    the 10-minute interval."""
    expires = format_datetime(datetime.now(UTC) + timedelta(minutes=30), usegmt=True)
    url = evil.set("f.xml", seed_feed, headers={"Expires": expires})
    poll, _ = setup([url], interval="10m", max_interval="1h")
    await poll()
    row = (await feed_rows(tmp_path, clock))[url]
    assert 1800 * 0.9 - 60 <= delay(row) <= 1800 * 1.1  # a minute for the server's clock


@pytest.mark.parametrize("etag", [True, False], ids=["304", "same bytes"])
async def test_a_quiet_adaptive_feed_drifts_to_max_interval_without_a_parse(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock, etag: bool
) -> None:
    """Twelve entries in an hour, then nothing for ten days: every poll since is a 304 (or the
    same bytes) and nothing is parsed, yet the silence makes the wait grow to max_interval."""
    entries = [item(f"g{i}", f"t{i}", clock.now - timedelta(minutes=5 * i)) for i in range(1, 13)]
    url = evil.set("f.xml", with_items(seed_feed, *entries), etag=etag)
    poll, parser = setup([{"url": url, "adaptive": True}], max_interval="1h")
    await poll()
    assert 0.9 * 300 <= delay((await feed_rows(tmp_path, clock))[url]) <= 1.1 * 300
    assert (await poll(1800)).feeds == {"not_modified": 1}
    assert 0.9 * 2100 <= delay((await feed_rows(tmp_path, clock))[url]) <= 1.1 * 2100
    assert (await poll(10 * 86400)).feeds == {"not_modified": 1}
    row = (await feed_rows(tmp_path, clock))[url]
    assert 0.9 * 3600 <= delay(row) <= 1.1 * 3600
    assert row["entry_interval"] == 300  # the mean of the last parse is kept as it was
    assert len(parser.urls) == 1


async def test_retry_after_on_429_and_503_is_honoured(
    setup: Any, evil: EvilServer, tmp_path: Path, clock: FakeClock
) -> None:
    when = datetime.now().astimezone() + timedelta(hours=2)
    busy = evil.set("busy.xml", b"", status=429, headers={"Retry-After": "5400"})
    down = evil.set("down.xml", b"", status=503, headers={"Retry-After": format_datetime(when)})
    poll, _ = setup([busy, down])
    await poll()
    rows = await feed_rows(tmp_path, clock)
    assert 5400 <= delay(rows[busy]) <= 5400 * 1.1
    assert 7100 <= delay(rows[down]) <= 7200 * 1.1
    assert rows[busy]["last_error"] == "HTTP 429 Too Many Requests"


async def test_failures_back_off_then_the_feed_is_failing_and_still_retried(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    url = evil.set("f.xml", b"", status=404)
    poll, _ = setup([url], failing_after=3, max_backoff="4h")
    waits = []
    for _ in range(4):
        summary = await poll(waits[-1] if waits else 0)
        row = (await feed_rows(tmp_path, clock))[url]
        waits.append(delay(row))
    assert [round(w / 600) for w in waits[:2]] == [1, 2]  # 600 s, 1200 s (±10 %)
    assert all(4 * 3600 * 0.9 <= w <= 4 * 3600 * 1.1 for w in waits[2:])  # failing: the cap
    assert summary.failing == 1
    assert row["failing_since"] is not None
    assert (row["consecutive_failures"], row["last_error_kind"]) == (4, "http")
    assert len(evil.hits("f.xml")) == 4  # never given up on
    evil.set("f.xml", seed_feed)
    assert (await poll(waits[-1])).feeds == {"ok": 1}
    row = (await feed_rows(tmp_path, clock))[url]
    assert (row["consecutive_failures"], row["failing_since"]) == (0, None)


async def test_one_failing_path_does_not_delay_the_hosts_other_feeds(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    """Backoff is per feed, not per host: while /broken.xml backs off (600 s, 1200 s, 2400 s),
    /good.xml on the same host keeps its 10-minute interval and is polled every time."""
    broken = evil.set("broken.xml", b"", status=500)
    good = evil.set("good.xml", seed_feed)
    poll, _ = setup([broken, good], interval="10m")
    backoff = []
    for _ in range(3):
        assert (await poll(600)).feeds["error"] == 1
        rows = await feed_rows(tmp_path, clock)
        backoff.append(round(delay(rows[broken]) / 600))
        assert 0.9 * 600 <= delay(rows[good]) <= 1.1 * 600
        assert (rows[good]["consecutive_failures"], rows[good]["last_error"]) == (0, None)
    assert backoff == [1, 2, 4]
    assert len(evil.hits("good.xml")) == 3


async def test_410_gone_disables_the_feed(
    setup: Any, evil: EvilServer, tmp_path: Path, clock: FakeClock
) -> None:
    url = evil.set("gone.xml", b"", status=410)
    poll, _ = setup([url])
    with capture_logs() as logs:
        assert (await poll()).feeds == {"gone": 1}
    assert (await poll(10**6)).feeds == {}  # not polled again
    assert len(evil.hits("gone.xml")) == 1
    row = (await feed_rows(tmp_path, clock))[url]
    assert row["disabled_reason"] == "HTTP 410 Gone: feed disabled"
    assert any(e["event"] == "feed.disabled" for e in logs)


# --- moving ------------------------------------------------------------------------------------


async def test_a_permanent_redirect_seen_three_times_moves_the_feed(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    """The config keeps the old URL as the feed's identity; the feed is fetched from the new
    one after the third 301 in a row, and the log says so."""
    new = evil.set("new.xml", seed_feed)
    old = evil.url(f"redirect?s=301&to={new}")
    poll, _ = setup([old])
    with capture_logs() as logs:
        for _ in range(3):
            await poll(3600)
    [moved] = [e for e in logs if e["event"] == "feed.relocated"]
    assert (moved["fetch_from"], moved["reason"]) == (new, "moved")
    await poll(3600)
    assert len(evil.hits("redirect")) == 3
    assert len(evil.hits("new.xml")) == 4
    row = (await feed_rows(tmp_path, clock))[old]
    assert (row["effective_url"], row["effective_url_source"]) == (new, "moved")
    assert row["entries"] == 3


async def test_temporary_or_changing_redirects_never_move_the_feed(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    new = evil.set("new.xml", seed_feed)
    temporary = evil.url(f"redirect?s=302&to={new}")
    poll, _ = setup([temporary])
    for _ in range(4):
        await poll(3600)
    row = (await feed_rows(tmp_path, clock))[temporary]
    assert row["effective_url"] is None
    assert len(evil.hits("redirect")) == 4


async def test_a_site_url_is_resolved_through_its_feed_link(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    page = (
        b'<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" '
        b'href="/feeds/main.xml"></head><body>News</body></html>'
    )
    site = evil.set("index.html", page, headers={"Content-Type": "text/html"})
    feed = evil.set("feeds/main.xml", seed_feed)
    poll, _ = setup([site])
    summary = await poll()
    assert (summary.feeds, summary.new) == ({"ok": 1}, 3)
    await poll(3600)
    assert len(evil.hits("index.html")) == 1  # from now on the feed itself is fetched
    assert len(evil.hits("feeds/main.xml")) == 2
    row = (await feed_rows(tmp_path, clock))[site]
    assert (row["effective_url"], row["effective_url_source"]) == (feed, "discovered")


async def test_a_feed_that_turns_into_a_page_is_broken_not_rediscovered(
    setup: Any, evil: EvilServer, seed_feed: bytes, tmp_path: Path, clock: FakeClock
) -> None:
    url = evil.set("f.xml", seed_feed)
    evil.set("other.xml", seed_feed)
    poll, _ = setup([url])
    await poll()
    evil.set(
        "f.xml",
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/other.xml">',
        headers={"Content-Type": "text/html"},
    )
    assert (await poll(3600)).feeds == {"error": 1}
    row = (await feed_rows(tmp_path, clock))[url]
    assert (row["last_error_kind"], row["effective_url"]) == ("not_a_feed", None)
    assert evil.hits("other.xml") == []


# --- sharing hosts -----------------------------------------------------------------------------


async def test_a_slow_hosts_feeds_do_not_hold_up_another_host(setup: Any, evil: EvilServer) -> None:
    """concurrency 3, per_host 1, five feeds on a slow 127.0.0.1: they wait for their host's
    turn without holding global slots, so the feed on 127.0.0.2 is fetched at once, not behind
    the slow host's queue (it was the fourth request to arrive)."""
    slow = [evil.url(f"slow?s=0.5&n={i}") for i in range(5)]
    other = evil.url("slow?s=0.5&n=other", host="127.0.0.2")
    poll, _ = setup([*slow, other], concurrency=3, per_host=1)
    assert (await poll()).feeds == {"ok": 6}
    hosts = [hit.host for hit in evil.hits("slow")]
    assert hosts.index("127.0.0.2") < 2  # before the slow host's second request
    assert hosts.count("127.0.0.1") == 5


async def test_the_global_limit_is_never_exceeded(setup: Any, evil: EvilServer) -> None:
    """concurrency 3 with room to spare per host: 12 feeds on two hosts, and never more than 3
    requests in flight at the server (and 3 reached)."""
    urls = [evil.url(f"slow?s=0.3&n={i}", host=h) for i in range(6) for h in evil.ports]
    poll, _ = setup(urls, concurrency=3)
    assert (await poll()).feeds == {"ok": 12}
    assert len(evil.hits("slow")) == 12
    assert evil.max_in_flight == 3


async def test_a_feed_waiting_too_long_for_its_host_is_handed_back_and_polled_later(
    write_config: Any, tmp_path: Path, evil: EvilServer, clock: FakeClock
) -> None:
    """The daemon: per_host 1 and a host that answers in 1 s. The second feed waits at most
    ``host_wait`` for its turn, then gives its lease back and is claimed again at a later tick;
    a lease therefore never runs out while a feed waits. Each feed is fetched exactly once."""
    urls = [evil.url(f"slow?s=1&n={i}") for i in range(2)]
    config = load_config(write_config(defaults={"interval": "1h", "per_host": 1}, feeds=urls))
    stop = asyncio.Event()
    with capture_logs(processors=[merge_contextvars]) as logs:
        async with Daemon(config, clock=clock, parse_pool=None, tick=0.05, host_wait=0.3) as d:
            assert d.feed_lease >= d.host_wait + d.poll_budget
            clock.advance(60)  # both due at the first tick
            running = asyncio.create_task(d.run(stop))
            async with asyncio.timeout(30):
                while sum(e["event"] == "feed.updated" for e in logs) < 2:
                    await asyncio.sleep(0.05)
            stop.set()
            await running
    updated = [e for e in logs if e["event"] == "feed.updated"]
    assert sorted(e["feed"] for e in updated) == sorted(urls)
    assert {e["status"] for e in updated} == {"ok"}
    deferred = [e for e in logs if e["event"] == "feed.deferred"]
    assert deferred
    assert {e["waited"] for e in deferred} == {0.3}
    assert len(evil.hits("slow")) == 2
    assert evil.max_in_flight == 1
    rows = await feed_rows(tmp_path, clock)
    assert all(row["last_status"] == "ok" for row in rows.values())


# --- private addresses -------------------------------------------------------------------------


async def test_a_private_feed_is_refused_unless_allowed(
    write_config: Any, tmp_path: Path, evil: EvilServer, seed_feed: bytes, clock: FakeClock
) -> None:
    refused = evil.set("a.xml", seed_feed)
    allowed = evil.set("b.xml", seed_feed)
    config = write_config(
        defaults={"allow_private": False},
        feeds=[refused, {"url": allowed, "allow_private": True}],
    )
    summary = await run_once(config, clock)
    assert summary.feeds == {"ok": 1, "error": 1}
    rows = await feed_rows(tmp_path, clock)
    assert rows[refused]["last_error_kind"] == "refused"
    assert "127.0.0.1 (loopback)" in rows[refused]["last_error"]
    assert evil.hits("a.xml") == []
    assert len(evil.hits("b.xml")) == 1


# --- the hostile web, all at once --------------------------------------------------------------


async def test_every_broken_feed_gets_its_own_status_and_the_good_one_still_alerts(
    setup: Any,
    evil: EvilServer,
    seed_feed: bytes,
    receiver: Receiver,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    canary = evil.url("canary")
    cases: dict[str, tuple[bytes | None, dict[str, Any], str, str | None]] = {
        # path: (body, route options, expected status, expected error kind)
        "good.xml": (with_items(seed_feed, item("b1", "Belarus hari ini")), {}, "ok", None),
        "empty.xml": (b"", {}, "error", "empty"),
        "page.html": (b"<!DOCTYPE html><html><body>hi</body></html>", {}, "error", "not_a_feed"),
        "truncated.xml": (seed_feed[: seed_feed.index(b"</item>") + 7], {}, "ok", "malformed"),
        "json.json": (
            b'{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","title":"x"}]}',
            {"headers": {"Content-Type": "application/feed+json"}},
            "ok",
            None,
        ),
        "latin1.xml": (
            seed_feed.replace(b"Belarusia", "Bélarusia".encode("latin-1")),
            {"headers": {"Content-Type": "application/rss+xml; charset=utf-8"}},
            "ok",
            "malformed",
        ),
        "laughs.xml": (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]><rss/>',
            {},
            "error",
            "unsafe_xml",
        ),
        "xxe.xml": (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{canary}">]>'
            "<rss version='2.0'><channel><item><title>&x;</title></item></channel></rss>".encode(),
            {},
            "error",
            "unsafe_xml",
        ),
        "dtd.xml": (
            f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{canary}">'.encode()
            + seed_feed[seed_feed.index(b"<rss") :],
            {},
            "ok",
            None,
        ),
        "missing.xml": (None, {}, "error", "http"),
        "broken.xml": (b"oops", {"status": 500}, "error", "http"),
    }
    feeds: list[Any] = []
    for path, (body, options, _, _) in cases.items():
        if body is not None:
            evil.set(path, body, **options)
        feeds.append(evil.url(path))
    feeds.append({"url": evil.url("drip"), "timeout": "1s"})
    feeds.append(evil.url("gzip-bomb"))
    feeds.append({"url": evil.url("a.xml", host="127.0.0.2"), "allow_private": False})
    poll, _ = setup(feeds, max_body="5MiB", first_sync="alert")

    summary = await poll()

    rows = await feed_rows(tmp_path, clock)
    for path, (_, _, status, kind) in cases.items():
        row = rows[evil.url(path)]
        assert (row["last_status"], row["last_error_kind"]) == (status, kind), path
    # read despite the problem, which stays visible
    assert "not well-formed" in rows[evil.url("truncated.xml")]["last_error"]
    latin1 = rows[evil.url("latin1.xml")]
    assert "the server says charset=utf-8, but the body is" in latin1["last_error"]
    assert "Bélarusia dan Rusia Tanggapi Ancaman Politik Eksternal" in entry_titles(
        tmp_path, evil.url("latin1.xml")
    )
    assert rows[evil.url("drip")]["last_error_kind"] == "timeout"
    assert rows[evil.url("gzip-bomb")]["last_error_kind"] == "too_large"
    assert rows[evil.url("a.xml", host="127.0.0.2")]["last_error_kind"] == "refused"
    assert evil.hits("canary") == []
    assert evil.hits(host="127.0.0.2") == []
    assert summary.crashed == 0
    titles = {d.json["data"]["article"]["title"] for d in receiver.deliveries}
    assert "Belarus hari ini" in titles
    # The seed article read from several of these feeds is one story: it alerts once per rule,
    # under the title of whichever copy came first.
    seed = [t for t in titles if t.endswith("dan Rusia Tanggapi Ancaman Politik Eksternal")]
    assert len(seed) == 1
