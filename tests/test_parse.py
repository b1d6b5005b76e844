"""Parsing feed bodies into plain entries; what is not a feed is a clear ParseError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.parse import make_parse_pool, parse_feed, parse_in

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Desk</title>
  <entry><id>urn:x:1</id><title type="html">EU &lt;b&gt;sanctions&lt;/b&gt;</title>
    <link href="https://example.org/1"/><updated>2026-11-20T08:00:00Z</updated>
    <content type="html">&lt;p&gt;Minsk&lt;/p&gt;&lt;p&gt;reacts&lt;/p&gt;</content></entry>
</feed>"""


def test_the_seed_feed_parses_into_three_plain_text_entries(seed_feed: bytes) -> None:
    feed = parse_feed(
        seed_feed, "http://127.0.0.1/seed.xml", {"content-type": "application/rss+xml"}
    )
    assert feed.title == "Tagar - Internasional"
    assert feed.language == "id"
    assert [e.title for e in feed.entries] == [
        "Belarusia dan Rusia Tanggapi Ancaman Politik Eksternal",
        "Harga Cabai Rawit Naik Jelang Akhir Pekan",
        "Timnas Bersiap Hadapi Malaysia di Jakarta",
    ]
    first = feed.entries[0]
    assert (
        first.guid == "https://www.tagar.id/belarusia-dan-rusia-tanggapi-ancaman-politik-eksternal"
    )
    assert first.published == datetime(2020, 10, 25, 2, 30, tzinfo=UTC)
    assert first.language == "id"
    assert first.author == "vm/ft"
    assert "<p>" not in first.content
    assert '"menormalisasi"' in first.content
    assert "sanksi-sanksi terhadap para pejabat Belarus" in first.content
    assert first.summary.startswith("Belarusia dan Rusia dikabarkan")


def test_atom_html_titles_become_text() -> None:
    [entry] = parse_feed(ATOM, "http://x/atom", {}).entries
    assert entry.title == "EU sanctions"
    assert entry.content == "Minsk\n\nreacts"
    assert entry.language == "en"
    assert entry.published == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty response body"),
        (b"   \n", "empty response body"),
        (b"<html><body><h1>Welcome</h1></body></html>", "not a feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "not a feed"),
    ],
)
def test_bodies_that_are_not_feeds_are_parse_errors(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_feed(body, "http://x/feed", {"content-type": "text/html"})


def test_a_string_that_looks_like_a_path_is_never_opened(tmp_path, seed_feed: bytes) -> None:
    """feedparser opens a path given as a string; we only ever hand it bytes."""
    path = tmp_path / "local.xml"
    path.write_bytes(seed_feed)
    with pytest.raises(ParseError):
        parse_feed(str(path).encode(), "http://x/feed", {})


def test_truncated_xml_is_read_leniently_with_a_warning(seed_feed: bytes) -> None:
    feed = parse_feed(seed_feed[: seed_feed.index(b"</item>") + 7], "http://x/feed", {})
    assert len(feed.entries) == 1
    assert feed.warning is not None


async def test_the_process_pool_parses_off_the_event_loop(seed_feed: bytes) -> None:
    pool = make_parse_pool(1)
    try:
        feed = await parse_in(pool, seed_feed, "http://x/feed", {}, deadline=30)
    finally:
        pool.shutdown()
    assert len(feed.entries) == 3
