"""Pure decisions, tested with tables: canonical links, identity, new/updated/same, backfill."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from monitor.decide import Decider, identify
from monitor.identity import canonical_url, content_hash, entry_key
from monitor.types import ChangeKind, ParsedEntry, StoredEntry

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def entry(
    guid: str | None = "g1",
    link: str | None = "https://a.example/1",
    title: str = "T",
    published: datetime | None = None,
    content: str = "C",
) -> ParsedEntry:
    return ParsedEntry(guid, link, title, "", content, published)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://WWW.Tagar.ID/a?utm_source=rss&utm_medium=feed", "https://www.tagar.id/a"),
        ("http://example.org:80/x#section", "http://example.org/x"),
        ("https://example.org:443/x?b=2&a=1", "https://example.org/x?a=1&b=2"),
        ("https://example.org:8443/x", "https://example.org:8443/x"),
        ("https://example.org/x?fbclid=abc&id=7&gclid=z", "https://example.org/x?id=7"),
        ("https://example.org", "https://example.org/"),
        ("mailto:desk@example.org", "mailto:desk@example.org"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_identity_prefers_guid_then_link_then_content() -> None:
    with_guid = entry(guid="abc")
    no_guid = entry(guid=None)
    nothing = entry(guid=None, link=None)
    assert entry_key(with_guid, "https://a.example/1", "h").startswith("guid:")
    assert entry_key(no_guid, canonical_url(no_guid.link or ""), "h").startswith("link:")
    assert entry_key(nothing, None, content_hash(nothing)).startswith("hash:")


def test_tracking_parameters_do_not_change_the_identity() -> None:
    a = identify([entry(guid=None, link="https://a.example/1?utm_source=x")])
    b = identify([entry(guid=None, link="https://A.example/1#top")])
    assert a[0].key == b[0].key


def test_repeated_keys_in_one_fetch_are_kept_once() -> None:
    items = identify([entry(guid="same", title="one"), entry(guid="same", title="two")])
    assert [i.entry.title for i in items] == ["one"]


def test_content_hash_ignores_whitespace_only_changes() -> None:
    assert content_hash(entry(content="a  b\n c")) == content_hash(entry(content="a b c"))
    assert content_hash(entry(content="a b c")) != content_hash(entry(content="a b d"))


@pytest.mark.parametrize(
    ("first_sync", "backfill", "published", "alerts"),
    [
        (False, None, None, True),
        (True, None, NOW, False),
        (True, math.inf, None, True),
        (True, math.inf, NOW - timedelta(days=999), True),
        (True, 86400.0, NOW - timedelta(hours=2), True),
        (True, 86400.0, NOW - timedelta(days=2), False),
        (True, 86400.0, None, False),
    ],
)
def test_new_entries_alert_unless_first_sync_outside_backfill(
    first_sync: bool, backfill: float | None, published: datetime | None, alerts: bool
) -> None:
    [change] = Decider(NOW, first_sync, backfill).decide(identify([entry(published=published)]), {})
    assert change.kind is ChangeKind.NEW
    assert change.alert is alerts


def test_known_entries_are_same_or_updated_and_never_alert() -> None:
    items = identify([entry(guid="a", content="x"), entry(guid="b", content="y")])
    stored = {
        items[0].key: StoredEntry(1, items[0].key, items[0].content_hash),
        items[1].key: StoredEntry(2, items[1].key, "old-hash"),
    }
    changes = Decider(NOW, first_sync=False).decide(items, stored)
    assert [(c.kind, c.alert) for c in changes] == [
        (ChangeKind.SAME, False),
        (ChangeKind.UPDATED, False),
    ]
