"""Parsing only what changed: a body cut into items, and a poll that reads only the new ones."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.base.types import ParsedFeed
from monitor.config import load_config
from monitor.stages.items import FULL_EVERY, split_items
from monitor.stages.parse import parse_feed
from monitor.store import Store
from tests.configs import rule, webhook
from tests.conftest import FakeClock, FeedServer, Receiver, count_rows, run_once

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Kabar</title>'
TAIL = b"</channel></rss>"


def item(n: int, title: str | None = None) -> bytes:
    title = title or f"Berita nomor {n} tentang anggaran"
    return (
        f"<item><guid>https://kabar.example/{n}</guid><title>{title}</title>"
        f"<link>https://kabar.example/{n}</link><description>Isi berita {n}.</description>"
        "</item>"
    ).encode()


def rss(*items: bytes, head: bytes = HEAD) -> bytes:
    return head + b"\n".join(items) + TAIL


# --- cutting a body ----------------------------------------------------------------------------


def test_a_body_cuts_into_head_items_and_tail() -> None:
    split = split_items(rss(item(1), item(2)), "application/rss+xml")
    assert split is not None
    assert split.items == (item(1), item(2))
    assert split.head == HEAD
    assert split.tail == TAIL
    assert len(split.digests) == 16


def test_an_atom_feed_cuts_into_its_entries() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b"<entry><id>1</id><title>One</title></entry> <entry><id>2</id></entry></feed>"
    )
    split = split_items(body, None)
    assert split is not None
    assert len(split.items) == 2


def test_markup_inside_cdata_is_text_not_an_item_boundary() -> None:
    tricky = (
        b"<item><guid>x</guid><description><![CDATA[a </item> and <item> inside]]>"
        b"</description></item>"
    )
    split = split_items(rss(tricky, item(2)), None)
    assert split is not None
    assert split.items == (tricky, item(2))


def test_bodies_that_do_not_cut_cleanly_are_parsed_whole() -> None:
    assert split_items(HEAD + TAIL, None) is None  # no items
    assert split_items(rss(item(1), b"stray text", item(2)), None) is None
    nested = b"<item><title>a</title><item><title>b</title></item></item>"
    assert split_items(rss(nested), None) is None
    in_cdata = HEAD + b"<description><![CDATA[" + item(1) + b"]]></description>" + TAIL
    assert split_items(in_cdata, None) is None


def test_only_the_changed_items_are_kept_when_the_head_is_the_same() -> None:
    before = split_items(rss(*(item(n) for n in range(10))), None)
    assert before is not None
    state = before.state(NOW)
    after = split_items(rss(item(10), *(item(n) for n in range(9))), None)
    assert after is not None
    assert after.partial(state, NOW + timedelta(minutes=5)) == HEAD + item(10) + TAIL
    edited = split_items(rss(item(0, "Judul baru"), *(item(n) for n in range(1, 10))), None)
    assert edited is not None
    assert edited.partial(state, NOW) == HEAD + item(0, "Judul baru") + TAIL


def test_the_whole_body_is_parsed_when_the_head_or_most_items_changed_or_an_hour_passed() -> None:
    before = split_items(rss(*(item(n) for n in range(10))), None)
    assert before is not None
    state = before.state(NOW)
    new_head = HEAD.replace(b"Kabar", b"Kabar Baru")
    changed_head = split_items(rss(*(item(n) for n in range(10)), head=new_head), None)
    assert changed_head is not None
    assert changed_head.partial(state, NOW) is None
    most = split_items(rss(*(item(n) for n in range(6, 16))), None)
    assert most is not None
    assert most.partial(state, NOW) is None
    one = split_items(rss(*(item(n) for n in range(1, 11))), None)
    assert one is not None
    assert one.partial(state, NOW + FULL_EVERY) is None
    # only a build date in the head differs: the head's fingerprint ignores it
    dated = HEAD + b"<lastBuildDate>Mon, 07 Dec 2026 12:00:00 GMT</lastBuildDate>"
    same = split_items(rss(*(item(n) for n in range(1, 11)), head=dated), None)
    assert same is not None
    assert same.partial(state, NOW) is not None


# --- a poll reads only the new entries ---------------------------------------------------------


class BodyParser:
    """The real parse, in the calling thread, keeping how many items each body had."""

    def __init__(self) -> None:
        self.items: list[int] = []

    async def parse(
        self, body: bytes, url: str, headers: Mapping[str, str], deadline: float
    ) -> ParsedFeed:
        self.items.append(body.count(b"<item>"))
        return parse_feed(body, url, headers)


async def test_a_big_feed_that_gains_one_entry_parses_one_entry_and_alerts_for_it(
    write_config: Any, feeds: FeedServer, receiver: Receiver, clock: FakeClock, tmp_path: Path
) -> None:
    """300 entries, then one new (matching), then an old one edited to match: each poll parses
    the head and the changed item alone, finds the change, and alerts; an hour on, the whole
    body is parsed again and the entries that left the feed are no longer listed."""
    entries = [item(n) for n in range(300, 0, -1)]
    url = feeds.set("big.xml", rss(*entries))
    config = load_config(
        write_config(
            feeds=[url],
            rules=[rule("belarus", "Belarus*", notify_updates=True)],
            sinks={"hook": webhook(receiver.url)},
        )
    )
    parser = BodyParser()

    async def poll(advance: float = 60) -> Any:
        clock.advance(advance)
        return await run_once(config, clock, parse_pool=parser)

    first = await poll()
    assert (first.new, parser.items) == (300, [300])  # the first sync reads it all
    entries = [item(301, "Belarus menutup perbatasan"), *entries[:-1]]
    feeds.set("big.xml", rss(*entries))
    gained = await poll()
    assert (gained.new, gained.alerts, parser.items[-1]) == (1, 1, 1)
    entries[entries.index(item(150))] = item(150, "Belarus dan anggaran")
    feeds.set("big.xml", rss(*entries))
    edited = await poll()
    assert (edited.new, edited.alerts, parser.items[-1]) == (0, 1, 1)
    feeds.set("big.xml", rss(*entries[:200]))  # a hundred entries leave; nothing new
    assert (await poll()).new == 0
    assert parser.items[-1] == 0  # only the head and tail were read
    feeds.set("big.xml", rss(item(302), *entries[:200]))
    later = await poll(FULL_EVERY.total_seconds())
    assert (later.new, parser.items[-1]) == (1, 201)  # an hour on: the whole body
    assert len(receiver.deliveries) == 2
    store = await Store.open(f"sqlite:///{tmp_path / 'state.db'}", clock)
    try:
        assert await count_rows(store, "entries", listed=False) == 101  # entries 1..101 left
    finally:
        await store.close()
