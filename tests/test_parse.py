"""Parsing feed bodies into plain entries: RSS, Atom and JSON Feed; pages that are not feeds;
XML entity attacks refused before feedparser; and the worker pool that kills slow parses."""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.base.errors import NotAFeed, ParseError, ParseTimeout, UnsafeXML
from monitor.stages import xmlsafe
from monitor.stages.parse import ParsePool, parse_feed, parse_in
from monitor.stages.xmlsafe import MAX_EXPANSION
from tests.parsers import DIE, GREEDY, HANG, SLOW

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Desk</title>
  <entry><id>urn:x:1</id><title type="html">EU &lt;b&gt;sanctions&lt;/b&gt;</title>
    <link href="https://example.org/1"/><updated>2026-11-20T08:00:00Z</updated>
    <content type="html">&lt;p&gt;Minsk&lt;/p&gt;&lt;p&gt;reacts&lt;/p&gt;</content></entry>
</feed>"""

RSS_ITEM = b"<item><guid>g1</guid><title>%s</title><description>body</description></item>"


def rss(*items: bytes, prolog: bytes = b"", channel: bytes = b"") -> bytes:
    return (
        b'<?xml version="1.0"?>'
        + prolog
        + b'<rss version="2.0"><channel><title>T</title>'
        + channel
        + b"".join(items)
        + b"</channel></rss>"
    )


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


def test_ttl_and_syndication_hints_are_read() -> None:
    body = rss(
        RSS_ITEM % b"a",
        channel=b"<ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod>",
    ).replace(b"<rss ", b'<rss xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" ')
    assert parse_feed(body, "http://x/f", {}).publisher_interval == 3600


# --- not feeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        (b"", "empty", "empty response body"),
        (b"   \n", "empty", "empty response body"),
        (b"<html><body><h1>Welcome</h1></body></html>", "not_a_feed", "HTML page"),
        (b"<!DOCTYPE html>\n<html lang=en><head></head></html>", "not_a_feed", "HTML page"),
        (b"<note><to>Tove</to></note>", "not_a_feed", "neither RSS, Atom nor JSON Feed"),
        (b'{"hello": "world"}', "not_a_feed", "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "broken_feed", "JSON"),
    ],
)
def test_bodies_that_are_not_feeds_are_parse_errors_with_a_kind(
    body: bytes, kind: str, reason: str
) -> None:
    with pytest.raises(ParseError, match=reason) as info:
        parse_feed(body, "http://x/feed", {"content-type": "text/html"})
    assert info.value.kind == kind


def test_an_html_page_names_the_feeds_it_links_to() -> None:
    page = b"""<!doctype html><html><head><base href="https://news.example/section/">
      <link rel="stylesheet" href="/s.css">
      <link rel="alternate" type="application/rss+xml" title="All" href="../feed.xml">
      <link rel="Alternate" type="application/atom+xml" href="https://news.example/atom">
      <link rel="alternate" type="application/feed+json" href="/feed.json">
      <link rel="alternate" type="text/html" hreflang="id" href="/id/">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      </head><body><link rel="alternate" type="application/rss+xml" href="/late.xml"></body>"""
    with pytest.raises(NotAFeed) as info:
        parse_feed(page, "https://news.example/section/article-1", {})
    assert info.value.links == (
        "https://news.example/feed.xml",
        "https://news.example/atom",
        "https://news.example/feed.json",
    )


def test_truncated_xml_is_read_leniently_with_a_warning(seed_feed: bytes) -> None:
    feed = parse_feed(seed_feed[: seed_feed.index(b"</item>") + 7], "http://x/feed", {})
    assert len(feed.entries) == 1
    assert feed.warning is not None


def test_a_string_that_looks_like_a_path_is_never_opened(tmp_path: Path, seed_feed: bytes) -> None:
    """feedparser opens a path given as a string; we only ever hand it bytes."""
    path = tmp_path / "local.xml"
    path.write_bytes(seed_feed)
    with pytest.raises(ParseError):
        parse_feed(str(path).encode(), "http://x/feed", {})


# --- charsets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "warned"),
    [
        (
            rss(RSS_ITEM % "Café Señor".encode("latin-1")),
            "application/rss+xml; charset=utf-8",
            True,
        ),
        (rss(RSS_ITEM % "Café Señor".encode()), "text/xml", False),
        (rss(RSS_ITEM % "Café Señor".encode()), None, False),
        (
            rss(RSS_ITEM % "Café Señor".encode("latin-1")).replace(
                b'version="1.0"', b'version="1.0" encoding="iso-8859-1"'
            ),
            "application/xml",
            False,
        ),
        (
            rss(RSS_ITEM % "Café Señor".encode())
            .replace(b'version="1.0"', b'version="1.0" encoding="utf-16"')
            .decode()
            .encode("utf-16"),
            "application/rss+xml",
            False,
        ),
    ],
)
def test_wrong_or_missing_charsets_are_read_correctly(
    body: bytes, content_type: str | None, warned: bool
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    feed = parse_feed(body, "http://x/feed", headers)
    assert feed.entries[0].title == "Café Señor"
    assert (feed.warning is not None) == warned
    if warned:
        assert "charset=utf-8" in feed.warning


# --- JSON Feed ---------------------------------------------------------------------------------

JSON_FEED_11 = b"""{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "Desk", "home_page_url": "https://news.example/", "language": "id",
  "items": [
    {"id": "1", "url": "https://news.example/1", "title": "Sanksi baru",
     "content_html": "<p>Minsk <b>bereaksi</b></p>", "summary": "Ringkas",
     "date_published": "2026-11-20T08:00:00+07:00", "authors": [{"name": "A"}, {"name": "B"}]},
    {"id": 2, "external_url": "https://other.example/x", "content_text": "plain text",
     "date_modified": "2026-11-21T00:00:00Z", "language": "en"},
    "not an item"
  ]
}"""

JSON_FEED_10 = b"""{"version": "https://jsonfeed.org/version/1", "title": "Old",
  "items": [{"id": "a", "title": "T", "content_text": "x", "author": {"name": "Solo"}}]}"""


def test_json_feed_1_1_becomes_the_same_entries() -> None:
    feed = parse_feed(JSON_FEED_11, "http://x/feed.json", {"content-type": "application/feed+json"})
    assert (feed.title, feed.link, feed.language) == ("Desk", "https://news.example/", "id")
    first, second = feed.entries
    assert first.guid == "1"
    assert first.link == "https://news.example/1"
    assert first.title == "Sanksi baru"
    assert first.content == "Minsk bereaksi"
    assert first.summary == "Ringkas"
    assert first.published == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    assert first.author == "A, B"
    assert first.language == "id"
    assert second.guid == "2"
    assert second.link == "https://other.example/x"
    assert second.content == "plain text"
    assert second.published == datetime(2026, 11, 21, tzinfo=UTC)
    assert second.language == "en"


def test_json_feed_1_0_authors_are_read() -> None:
    [entry] = parse_feed(JSON_FEED_10, "http://x/feed.json", {}).entries
    assert entry.author == "Solo"


# --- XML entity attacks ------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><title>&lol3;</title><item><title>x</title></item></channel></rss>"""


def quadratic_blowup(entity_size: int = 50_000, references: int = 20_000) -> bytes:
    """One 50 kB entity used 20,000 times: a 150 kB body that expands to a gigabyte."""
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"x" * entity_size + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>'
        + b"&a;" * references
        + b"</title></item></channel></rss>"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (BILLION_LAUGHS, "defined by other entities"),
        (quadratic_blowup(), "expand to more than"),
        (quadratic_blowup(entity_size=10_000, references=2_000), "expand to more than"),
        (
            rss(
                RSS_ITEM % b"&xxe;",
                prolog=b'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            ),
            "external entity &xxe;",
        ),
        (
            rss(
                RSS_ITEM % b"&x;",
                prolog=b'<!DOCTYPE rss [<!ENTITY x PUBLIC "-//X//EN" "http://x/">]>',
            ),
            "external entity",
        ),
        (
            rss(
                RSS_ITEM % b"x",
                prolog=b'<!DOCTYPE rss [<!ENTITY % dtd SYSTEM "http://x/e.dtd"> %dtd;]>',
            ),
            "parameter entity %dtd",
        ),
        (
            rss(RSS_ITEM % b"&a;", prolog=b'<!DOCTYPE rss [<!ENTITY a "&#38;b;&#38;b;">]>'),
            "defined by other entities",
        ),
        (
            rss(RSS_ITEM % b"x", prolog=b"<!DOCTYPE rss [" + b'<!ENTITY e "v">' * 65 + b"]>"),
            "65 entity declarations",
        ),
        (rss(RSS_ITEM % b"x", prolog=b"<!DOCTYPE rss [<!ENTITY>]>"), "cannot be read"),
        (BILLION_LAUGHS.decode().encode("utf-16"), "defined by other entities"),
    ],
)
def test_entity_tricks_are_refused_before_feedparser_quickly_and_in_little_memory(
    body: bytes, reason: str
) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(UnsafeXML, match=reason) as info:
            parse_feed(body, "http://x/feed", {})
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.kind == "unsafe_xml"
    assert elapsed < 1.0  # unscreened, feedparser takes 20 s and gigabytes on the first one
    assert peak < 4 * len(body) + 1024 * 1024


def test_small_benign_entities_and_an_external_dtd_reference_are_fine() -> None:
    """`<!ENTITY nbsp "&#160;">` is common in real feeds, and so is a DOCTYPE that names the
    Netscape RSS 0.91 DTD by URL; neither is refused (and the DTD is never fetched)."""
    body = rss(
        RSS_ITEM % b"a&nbsp;b &copy2; &amp; c",
        prolog=b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;"> <!ENTITY copy2 "(c) AT&amp;T">]>',
    )
    [entry] = parse_feed(body, "http://x/feed", {}).entries
    assert entry.title == "a b (c) AT&T & c"  # the no-break space is a space in text
    netscape = rss(
        RSS_ITEM % b"plain",
        prolog=b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://127.0.0.1:9/rss-0.91.dtd">',
    )
    assert parse_feed(netscape, "http://x/feed", {}).entries[0].title == "plain"


def test_an_rss_document_with_a_bogus_html_doctype_is_a_feed() -> None:
    """feedparser's tests/illformed/always_strip_doctype.xml (BSD-2-Clause, Kurt McKee): an
    XHTML doctype before ``<rss>`` does not make the document a page."""
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html PUBLIC '
        b'"-//W3C//DTD XHTML 1.0 Transitional//EN" "http://site.invalid/">\n'
        b"<!-- unstripped invalid doctype -->\n"
        b"<rss><channel><title>found</title>"
        b"<item><title>one</title><link>https://a.example/1</link></item></channel></rss>"
    )
    parsed = parse_feed(body, "http://x/feed", {})
    assert parsed.title == "found"
    assert [e.title for e in parsed.entries] == ["one"]
    page = b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x"><head><title>p</title>'
    with pytest.raises(NotAFeed):  # a doctype'd page without <html> stays a page
        parse_feed(page, "http://x/feed", {})


PUBLIC_ENTITY_SET = (
    b'<!ENTITY % HTMLlat1 PUBLIC\n "-//W3C//ENTITIES Latin 1 for XHTML//EN"\n'
    b' "http://127.0.0.1:9/xhtml-lat1.ent">\n%HTMLlat1;\n'
)


def test_a_public_parameter_entity_set_is_cut_and_the_feed_parsed_without_fetching() -> None:
    """The RSS 1.0 idiom of feedparser's tests/wellformed/rdf/doctype_contains_entity_decl.xml
    (BSD-2-Clause, Kurt McKee); the set's URL is a closed loopback port, so a fetch would fail
    the parse, and its entities (``&eacute;``) are read leniently, not expanded from it."""
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + PUBLIC_ENTITY_SET + b"]>\n"
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://purl.org/rss/1.0/">'
        b'<channel rdf:about="https://a.example/"><title>Kafe</title>'
        b"<link>https://a.example/</link></channel>"
        b'<item rdf:about="https://a.example/1"><title>Caf&eacute; baru</title>'
        b"<link>https://a.example/1</link></item></rdf:RDF>"
    )
    [entry] = parse_feed(body, "http://x/feed", {}).entries
    assert entry.link == "https://a.example/1"
    assert entry.title == "Café baru"
    assert xmlsafe.screen_xml(body, "http://x/feed").count(b"HTMLlat1") == 0


@pytest.mark.parametrize(
    "subset",
    [
        # the set also used inside another entity's value: nesting, refused
        PUBLIC_ENTITY_SET + b'<!ENTITY e "%HTMLlat1;">',
        # a private DTD by SYSTEM identifier only: refused as before
        b'<!ENTITY % HTMLlat1 SYSTEM "file:///etc/passwd">%HTMLlat1;',
        # a public set beside an external general entity: still refused
        PUBLIC_ENTITY_SET + b'<!ENTITY x SYSTEM "file:///etc/passwd">',
    ],
)
def test_only_the_public_entity_set_itself_is_let_through(subset: bytes) -> None:
    body = rss(RSS_ITEM % b"&x;", prolog=b"<!DOCTYPE rss [" + subset + b"]>")
    with pytest.raises(UnsafeXML):
        parse_feed(body, "http://x/feed", {})


def test_an_undefined_entity_in_an_entry_less_feed_is_a_warning_not_a_failure() -> None:
    """The same defect with entries was already read leniently; without entries it failed."""
    for items in ((), (RSS_ITEM % b"one",)):
        parsed = parse_feed(rss(*items, channel=b"<title>A &bogus; title</title>"), "u", {})
        assert parsed.warning is not None
        assert "undefined entity" in parsed.warning
        assert len(parsed.entries) == len(items)
    with pytest.raises(ParseError, match="broken feed"):  # other breakage still fails
        parse_feed(b'<rss version="2.0"><channel><title>t</title></chan', "u", {})


def test_expansion_just_under_the_budget_is_accepted() -> None:
    body = rss(
        RSS_ITEM % (b"&e;" * (MAX_EXPANSION // 1000)),
        prolog=b'<!DOCTYPE rss [<!ENTITY e "' + b"y" * 1000 + b'">]>',
    )
    [entry] = parse_feed(body, "http://x/feed", {}).entries
    assert len(entry.title) == (MAX_EXPANSION // 1000) * 1000


# --- the worker pool ---------------------------------------------------------------------------


async def test_the_process_pool_parses_off_the_event_loop(seed_feed: bytes) -> None:
    """A parse that takes a second in the worker: meanwhile the event loop keeps running (a
    heartbeat task ticks every 10 ms; a loop blocked by the parse would see none)."""
    pool = ParsePool(1, target="tests.parsers:parse_slowly")
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    slow = seed_feed.replace(b"<channel>", b"<channel>" + SLOW)
    try:
        async with asyncio.timeout(60):
            await pool.parse(seed_feed, "http://x/warm", {}, deadline=30)  # the worker is up
            beating = asyncio.create_task(heartbeat())
            started = time.monotonic()
            feed = await parse_in(pool, slow, "http://x/feed", {}, deadline=30)
            elapsed, during = time.monotonic() - started, ticks
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
    finally:
        await pool.close()
    assert len(feed.entries) == 3
    assert elapsed >= 1.0  # the parse did take its second
    assert during >= 10


async def test_errors_from_a_worker_keep_their_kind_and_links(seed_feed: bytes) -> None:
    pool = ParsePool(1)
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/f"></head></html>'
    try:
        async with asyncio.timeout(60):
            with pytest.raises(NotAFeed) as info:
                await pool.parse(page, "http://x/", {}, deadline=30)
            with pytest.raises(UnsafeXML):
                await pool.parse(BILLION_LAUGHS, "http://x/", {}, deadline=30)
    finally:
        await pool.close()
    assert info.value.links == ("http://x/f",)


async def test_a_parse_past_its_deadline_is_killed_and_the_others_go_on(seed_feed: bytes) -> None:
    """Two workers; one parse hangs. The other parses complete meanwhile on the other worker;
    at the deadline the hung worker is killed and replaced, and the pool works as before."""
    pool = ParsePool(2, target="tests.parsers:parse_slowly")
    hung = seed_feed.replace(b"<channel>", b"<channel>" + HANG)
    try:
        async with asyncio.timeout(60):
            await pool.parse(seed_feed, "http://x/warm", {}, deadline=30)
            before = pool.pids
            stuck = asyncio.create_task(pool.parse(hung, "http://x/hung", {}, deadline=3))
            others = [
                await pool.parse(seed_feed, f"http://x/{i}", {}, deadline=30) for i in range(5)
            ]
            assert not stuck.done()  # the five finished while the hung parse was still running
            with pytest.raises(ParseTimeout, match="longer than 3s") as info:
                await stuck
            after = pool.pids
            again = await pool.parse(seed_feed, "http://x/after", {}, deadline=30)
    finally:
        await pool.close()
    assert all(len(feed.entries) == 3 for feed in others)
    assert isinstance(info.value, TimeoutError)
    assert info.value.kind == "parse_timeout"
    assert len(after) == 2
    assert len(before - after) == 1  # exactly one worker was replaced
    assert pool.killed == 1
    assert len(again.entries) == 3


async def test_a_worker_that_dies_is_replaced(seed_feed: bytes) -> None:
    pool = ParsePool(1, target="tests.parsers:parse_or_die")
    try:
        async with asyncio.timeout(60):
            with pytest.raises(ParseError, match="parser process died") as info:
                await pool.parse(seed_feed + DIE, "http://x/die", {}, deadline=30)
            feed = await pool.parse(seed_feed, "http://x/next", {}, deadline=30)
    finally:
        await pool.close()
    assert info.value.kind == "parser_died"
    assert len(feed.entries) == 3


async def test_a_worker_over_its_memory_limit_fails_that_feed_only(seed_feed: bytes) -> None:
    """The per-worker address-space cap is a backstop: a parse that wants gigabytes gets a
    MemoryError in its worker, reported as that feed's error; the worker lives on."""
    pool = ParsePool(1, target="tests.parsers:parse_or_die", memory_limit=512 * 1024 * 1024)
    try:
        async with asyncio.timeout(60):
            with pytest.raises(ParseError, match="ran out of memory") as info:
                await pool.parse(seed_feed + GREEDY, "http://x/greedy", {}, deadline=30)
            pids = pool.pids
            feed = await pool.parse(seed_feed, "http://x/next", {}, deadline=30)
    finally:
        await pool.close()
    assert info.value.kind == "parse_memory"
    assert pool.killed == 0
    assert pids
    assert len(feed.entries) == 3
