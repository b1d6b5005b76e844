"""The cheap scan that lets a poll skip the parse: what it may ignore, and what it must not hide."""

from __future__ import annotations

import pytest

from monitor.stages.scan import scan_fingerprint

ITEM = (
    b"<item><guid>1</guid><title>Sanksi baru</title>%s"
    b"<description><![CDATA[<p>Teks %s</p>]]></description></item>"
)


def feed(
    date: bytes = b"<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>", text: bytes = b""
) -> bytes:
    return (
        b"<rss><channel><lastBuildDate>x</lastBuildDate>"
        + ITEM % (date, text)
        + b"</channel></rss>"
    )


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        # only dates and comments outside CDATA differ: the scan may skip the parse
        (feed(), feed().replace(b"<lastBuildDate>x", b"<lastBuildDate>y"), True),
        (feed(), feed(b"<pubDate>Tue, 03 Nov 2026 10:00:00 GMT</pubDate>"), True),
        (feed(), feed().replace(b"<channel>", b"<channel><!-- 0.02 s -->"), True),
        (feed(b"<dc:date>1</dc:date>"), feed(b"<dc:date>2</dc:date>"), True),
        # inside CDATA it is text: a change there is a change of the entry
        (feed(text=b"<date>old text</date>"), feed(text=b"<date>new text</date>"), False),
        (feed(text=b"<updated>a</updated>"), feed(text=b"<updated>b</updated>"), False),
        (feed(text=b"<!-- old -->"), feed(text=b"<!-- new -->"), False),
        (feed(text=b"<date>x</date>"), feed(text=b""), False),
        # a section ends at the first "]]>"; a date after it is markup again
        (
            b"<d><![CDATA[a]]]><pubDate>1</pubDate></d>",
            b"<d><![CDATA[a]]]><pubDate>2</pubDate></d>",
            True,
        ),
        # a section never closed runs to the end of the body: nothing after it is removed
        (
            b"<d><![CDATA[a <pubDate>1</pubDate>",
            b"<d><![CDATA[a <pubDate>2</pubDate>",
            False,
        ),
        # between two sections, dates are still dates
        (
            b"<![CDATA[a]]><updated>1</updated><![CDATA[b]]>",
            b"<![CDATA[a]]><updated>2</updated><![CDATA[b]]>",
            True,
        ),
        # anything else is a change
        (feed(), feed().replace(b"Sanksi baru", b"Sanksi lama"), False),
    ],
)
def test_the_scan_ignores_dates_and_comments_but_never_text_in_cdata(
    before: bytes, after: bytes, same: bool
) -> None:
    assert (scan_fingerprint(before, None) == scan_fingerprint(after, None)) is same


def test_the_content_type_is_part_of_the_fingerprint() -> None:
    body = feed()
    assert scan_fingerprint(body, "text/xml") == scan_fingerprint(body, " Text/XML ")
    assert scan_fingerprint(body, "text/xml; charset=latin-1") != scan_fingerprint(body, "text/xml")
