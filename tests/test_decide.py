"""Pure decisions, tested with tables: canonical links, identity, new/updated/same, backfill."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from monitor.base.types import ChangeKind, ParsedEntry, StoredEntry
from monitor.stages.decide import CHURN_CAP, Decider, identify
from monitor.stages.identity import canonical_url, content_hash, entry_key

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
        ("https://example.org/a?mc_cid=1&mc_eid=2&UTM_Source=x", "https://example.org/a"),
        ("https://example.org/a?", "https://example.org/a"),
        ("https://example.org/berita%2dbaru?q=a%20b", "https://example.org/berita-baru?q=a+b"),
        ("https://example.org/a?id=1&id=0", "https://example.org/a?id=0&id=1"),
        ("https://example.org/a?ref=home", "https://example.org/a?ref=home"),  # may be content
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
    assert a.items[0].key == b.items[0].key


def test_repeated_keys_in_one_fetch_are_kept_once() -> None:
    ident = identify([entry(guid="same", title="one"), entry(guid="same", title="two")])
    assert [i.entry.title for i in ident.items] == ["one"]
    assert ident.mode == "guid"  # one entry listed twice is no reason to distrust GUIDs


E1 = "https://a.example/1"
E2 = "https://a.example/2"


@pytest.mark.parametrize(
    ("mode", "entries", "after", "count"),
    [
        # GUIDs that tell entries apart: kept.
        ("guid", [entry("a", E1), entry("b", E2)], "guid", 2),
        # One GUID on two different links (skx/rss2email#111's mirror): links decide.
        ("guid", [entry("x", E1, "one"), entry("x", E2, "two")], "link", 2),
        # One GUID and one link for every entry, different texts: only the text is left.
        ("guid", [entry("x", E1, "one"), entry("x", E1, "two", content="D")], "guid", 1),
        ("link", [entry("a", E1, "one"), entry("b", E1, "two", content="D")], "hash", 2),
        # No GUIDs: the link is the identity in any mode.
        ("guid", [entry(None, E1), entry(None, E2)], "guid", 2),
        # A feed never moves back up the chain by itself.
        ("hash", [entry("a", E1, "one"), entry("b", E2, "two")], "hash", 2),
        ("link", [entry("a", E1, "one"), entry("b", E2, "two")], "link", 2),
    ],
)
def test_identity_moves_down_the_chain_while_keys_collide(
    mode: str, entries: list[ParsedEntry], after: str, count: int
) -> None:
    ident = identify(entries, mode)
    assert ident.mode == after
    assert len(ident.items) == count
    assert all(item.key.startswith(("guid:", "link:", "hash:")) for item in ident.items)
    if after == "hash":
        assert {item.key.split(":")[0] for item in ident.items} == {"hash"}


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
    [change] = Decider(NOW, first_sync, backfill).decide(
        identify([entry(published=published)]).items, {}
    )
    assert change.kind is ChangeKind.NEW
    assert change.alert is alerts


BODY = "Uni Eropa membahas sanksi baru terhadap Belarus pada Senin."


def stored_as(before: ParsedEntry, **fields: object) -> StoredEntry:
    """What the store keeps of ``before`` (``fields`` override: a tombstone, an old row...)."""
    [item] = identify([before]).items
    values: dict[str, object] = {
        "id": 1,
        "key": item.key,
        "content_hash": item.content_hash,
        "material_hash": item.material_hash,
        "revision": 0,
        "hash_changes": 0,
        "story_id": 7,
        "text": (before.title, before.summary, before.content),
    }
    values.update(fields)
    return StoredEntry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("after", "stored", "kind", "material", "alert"),
    [
        ("same", {}, ChangeKind.SAME, False, False),
        ("whitespace", {}, ChangeKind.SAME, False, False),
        ("timestamp", {}, ChangeKind.UPDATED, False, False),
        ("embargo", {}, ChangeKind.UPDATED, True, True),
        # An entry that changed at every fetch stops counting as edited after the cap.
        ("embargo", {"hash_changes": CHURN_CAP}, ChangeKind.UPDATED, False, False),
        # Recorded before material hashes: computed from the stored text.
        ("timestamp", {"material_hash": None}, ChangeKind.UPDATED, False, False),
        ("embargo", {"material_hash": None}, ChangeKind.UPDATED, True, True),
        # A tombstone's text is gone: a new revision, but no edit to tell anyone about.
        ("embargo", {"text": None}, ChangeKind.UPDATED, True, False),
    ],
)
def test_known_entries_are_same_edited_or_materially_revised(
    after: str, stored: dict[str, object], kind: ChangeKind, material: bool, alert: bool
) -> None:
    before = entry(content=f"Diperbarui 10:32 WIB. {BODY}")
    content = {
        "same": before.content,
        "whitespace": f"Diperbarui  10:32 WIB.\n{BODY}",
        "timestamp": f"Diperbarui 11:05 WIB. {BODY}",
        "embargo": f"Diperbarui 10:32 WIB. {BODY} Embargo senjata juga dibahas.",
    }[after]
    known = stored_as(before, **stored)
    [change] = Decider(NOW, first_sync=False).decide(
        identify([entry(content=content)]).items, {known.key: known}
    )
    assert (change.kind, change.material, change.alert) == (kind, material, alert)
    assert change.revision == (1 if material else 0)
    if alert:
        assert change.diff is not None
        assert change.diff["fields"] == ["content"]
        assert change.diff["content"]["added"] == ["Embargo senjata juga dibahas."]
    else:
        assert change.diff is None
