"""The pipeline's decisions, each a pure function of its stage, tested with plain tables:
re-keying, which rules alert, story placement, feed columns, redirects, parsing skipped,
failures, retries, and the feed-state vocabulary."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.base.errors import FetchError, HTTPStatusError, SinkError
from monitor.base.settings import FeedPolicy, PollPolicy, RuleSpec
from monitor.base.types import (
    MALFORMED,
    AlertKind,
    ChangeKind,
    EntryChange,
    FeedForUpdate,
    FeedState,
    FeedUpdateIntent,
    FetchResult,
    IdentityMode,
    ParsedEntry,
    PollStatus,
    RedirectSeen,
    Relocation,
    StoredEntry,
    feed_state,
)
from monitor.stages.decide import Decider, identify, rekey, unknown_items
from monitor.stages.matching import Matcher
from monitor.stages.polling import MOVE_AFTER, Validators, failed_intent, follow_redirect
from monitor.stages.rules import RuleSet
from monitor.stages.sinks.policy import SinkPolicy, next_attempt
from monitor.stages.stories import StoryCandidates, story_sketch
from monitor.store.feedrow import feed_columns

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLL = PollPolicy(interval=600, min_interval=120, max_interval=3600, failing_after=3)
FEED = FeedPolicy(
    url="https://a.example/feed",
    label="A",
    tags=("news",),
    poll=POLL,
    timeout=30,
    parse_timeout=60,
    allow_private=False,
    backfill=None,
    language="id",
    default_language=None,
)


def entry(guid: str | None, link: str | None, title: str = "T", content: str = "C") -> ParsedEntry:
    return ParsedEntry(guid, link, title, "", content, None, "id")


def stored(id_: int, key: str, story: int | None = None, text: Any = None) -> StoredEntry:
    return StoredEntry(id_, key, f"hash-{id_}", story_id=story, text=text)


# --- re-keying: a known entry under a new key -------------------------------------------------

L1, L2 = "https://a.example/1", "https://a.example/2"


@pytest.mark.parametrize(
    ("mode", "entries", "known_by_link", "known_by_hash", "found", "moves_to"),
    [
        # The GUID changed, the link is known under its old GUID: the same entry, and the
        # feed's GUIDs cannot be trusted any more: links decide from now on.
        (IdentityMode.GUID, [entry("new", L1)], {L1: "guid:old"}, {}, 1, IdentityMode.LINK),
        # Nothing known by that link: a new entry, and no reason to move.
        (IdentityMode.GUID, [entry("new", L1)], {}, {}, 0, None),
        # Already told apart by links: a re-keyed entry moves nothing further.
        (IdentityMode.LINK, [entry(None, L1)], {L1: "link:old"}, {}, 1, None),
        # No link: found by its text; a GUID entry found that way moves the feed to text.
        (IdentityMode.GUID, [entry("new", None)], {}, {"h": "guid:old"}, 1, IdentityMode.HASH),
        # Found under the very key it has (another node wrote it meanwhile): no move.
        (IdentityMode.GUID, [entry("new", L1)], {L1: "its own"}, {}, 1, None),
    ],
)
def test_rekey_finds_known_entries_under_new_keys_and_says_when_guids_fail(
    mode: IdentityMode,
    entries: list[ParsedEntry],
    known_by_link: dict[str, str],
    known_by_hash: dict[str, str],
    found: int,
    moves_to: IdentityMode | None,
) -> None:
    ident = identify(entries, mode)
    [item] = ident.items
    own = {"its own": item.key}
    known_by_link = {url: own.get(key, key) for url, key in known_by_link.items()}
    if item.canonical_url is None and known_by_hash:  # the text's hash, as the store knows it
        [old_key] = known_by_hash.values()
        known_by_hash = {item.content_hash: old_key}
    unknown = unknown_items(ident, {})
    by_link = {url: stored(7, key) for url, key in known_by_link.items()}
    by_hash = {h: stored(7, key) for h, key in known_by_hash.items()}
    result = rekey(ident, {}, unknown, by_link, by_hash)
    assert len(result.stored) == found
    assert result.mode is moves_to


def test_an_entry_the_document_lists_under_its_own_key_is_not_taken_twice() -> None:
    """Two items, one still under its old GUID: the old row stays with it, and the other item
    is new, not a second claim on the same row."""
    ident = identify([entry("old", L1, "one"), entry("new", L2, "two")])
    old, new = (item.key for item in ident.items)
    known = stored(7, old)
    current = {old: known}
    unknown = unknown_items(ident, current)
    assert [i.key for i in unknown] == [new]
    result = rekey(ident, current, unknown, {L2: known}, {})
    assert result.stored == {old: known}
    assert result.mode is None


def test_guids_that_change_on_every_fetch_move_the_feed_to_links_for_good() -> None:
    """Fetch after fetch the GUIDs differ: the first re-key moves the feed to links, and
    identified by link the next fetch finds every entry by its key again."""
    first = identify([entry("g1", L1), entry("g2", L2)])
    keys = {i.canonical_url: i.key for i in first.items}
    rows = {url: stored(n, key) for n, (url, key) in enumerate(keys.items())}
    second = identify([entry("g3", L1), entry("g4", L2)])
    result = rekey(second, {}, unknown_items(second, {}), rows, {})
    assert result.mode is IdentityMode.LINK
    third = identify([entry("g5", L1), entry("g6", L2)], IdentityMode.LINK)
    assert all(i.key.startswith("link:") for i in third.items)


# --- which rules alert ----------------------------------------------------------------------

RULES = {
    "belarus": RuleSpec(id="belarus", query="Belarus*"),
    "sanksi": RuleSpec(id="sanksi", query="sanksi", notify_updates=True, sinks=("desk",)),
}
MATCHER = Matcher(
    RuleSet.compile((r.id, r.query or "", None) for r in RULES.values()),
    RULES,
    {"belarus": ("desk", "chat"), "sanksi": ("desk",)},
)
OLD = ("Belarus dan sanksi", "", "Uni Eropa menjatuhkan sanksi kepada Belarus.")


def change(
    kind: ChangeKind, text: tuple[str, str, str], *, before: Any = None, alert: bool = True
) -> EntryChange:
    title, summary, content = text
    known = stored(3, "guid:x", story=9, text=before) if kind is ChangeKind.UPDATED else None
    return EntryChange(
        kind,
        "guid:x",
        ParsedEntry("x", L1, title, summary, content, None, "id"),
        L1,
        "h",
        known,
        alert,
        material=kind is ChangeKind.UPDATED,
        revision=1 if kind is ChangeKind.UPDATED else 0,
        diff={"after": "..."} if kind is ChangeKind.UPDATED else None,
    )


def planned(write: Any) -> set[tuple[str, str, str]]:
    return {(a.rule_id, a.sink, a.kind) for a in write.alerts}


@pytest.mark.parametrize(
    ("case", "the_change", "alerted", "expected"),
    [
        (
            "a new entry alerts every rule it matches, at each of the rule's sinks",
            change(ChangeKind.NEW, OLD),
            {},
            {
                ("belarus", "desk", AlertKind.MATCHED),
                ("belarus", "chat", AlertKind.MATCHED),
                ("sanksi", "desk", AlertKind.MATCHED),
            },
        ),
        (
            "a first sync records silently",
            change(ChangeKind.NEW, OLD, alert=False),
            {},
            set(),
        ),
        (
            "an edit alerts again only the rule that asks for updates",
            change(ChangeKind.UPDATED, ("Belarus dan sanksi baru", "", OLD[2]), before=OLD),
            {9: {"belarus", "sanksi"}},
            {("sanksi", "desk", AlertKind.UPDATED)},
        ),
        (
            "a rule that starts to match after an edit alerts as new",
            change(ChangeKind.UPDATED, OLD, before=("Cuaca", "", "Hujan di Minsk.")),
            {},
            {
                ("belarus", "desk", AlertKind.MATCHED),
                ("belarus", "chat", AlertKind.MATCHED),
                ("sanksi", "desk", AlertKind.MATCHED),
            },
        ),
        (
            "a rule that matched before the edit without alerting stays silent",
            change(ChangeKind.UPDATED, ("Belarus dan sanksi baru", "", OLD[2]), before=OLD),
            {},
            set(),
        ),
    ],
)
def test_which_rules_alert_for_a_decided_entry(
    case: str, the_change: EntryChange, alerted: dict[int, set[str]], expected: set[Any]
) -> None:
    write = MATCHER.plan(the_change, FEED, alerted, NOW)
    assert planned(write) == expected, case
    for draft in write.alerts:
        data = draft.payload["data"]
        assert data["article"]["feed"] == {"name": "A", "url": FEED.url, "tags": ["news"]}
        assert (data.get("diff") is not None) == (draft.kind is AlertKind.UPDATED)
    assert {rule for rule, _ in write.matches} == {rule for rule, _, _ in expected}


def test_a_new_entry_carries_its_story_sketch_and_a_shared_link_is_no_identity() -> None:
    write = MATCHER.plan(change(ChangeKind.NEW, OLD), FEED, {}, NOW, shared_link=True)
    assert write.sketch == story_sketch(OLD[0], OLD[2])
    assert write.link_is_identity is False


# --- story placement ------------------------------------------------------------------------

TEXT = " ".join(f"kata{i} pejabat Belarus sanksi Uni Eropa" for i in range(12))
OTHER = " ".join(f"bola{i} timnas menang skor pertandingan" for i in range(12))


def test_a_new_entry_joins_the_story_its_link_or_its_text_tells_else_starts_one() -> None:
    near = story_sketch("Belarus", TEXT)
    far = story_sketch("Sepak bola", OTHER)
    assert near is not None
    assert far is not None
    candidates = StoryCandidates(similarity=0.5)
    candidates.by_url["https://a.example/known"] = 4
    candidates.add(5, near)
    assert candidates.place("https://a.example/known", far) == 4  # the link decides
    assert candidates.place("https://b.example/copy", near) == 5  # the text decides
    first = candidates.place("https://c.example/new", far)
    assert first == -1  # a fresh story, numbered until the store inserts it
    assert candidates.place("https://c.example/new", None) == -1  # its link now tells it
    assert candidates.place(None, far) == -1  # and so does its text
    assert candidates.place(None, None) == -2
    assert candidates.fresh == [("https://c.example/new", far), (None, None)]


# --- a poll's feed-level decisions ----------------------------------------------------------


def claimed(**fields: Any) -> FeedForUpdate:
    base: dict[str, Any] = {
        "id": 1,
        "url": "https://a.example/feed",
        "etag": None,
        "last_modified": None,
        "body_hash": None,
        "synced": True,
        "consecutive_failures": 0,
    }
    return FeedForUpdate(**{**base, **fields})


@pytest.mark.parametrize(
    ("seen_before", "moved_to", "expected"),
    [
        ((None, 0), None, (RedirectSeen(None, 0), None)),
        ((None, 0), "https://b.example/feed", (RedirectSeen("https://b.example/feed", 1), None)),
        (
            ("https://b.example/feed", MOVE_AFTER - 1),
            "https://b.example/feed",
            (RedirectSeen(None, 0), Relocation("https://b.example/feed", "moved")),
        ),
        # A redirect elsewhere starts counting again.
        (
            ("https://b.example/feed", 2),
            "https://c.example/feed",
            (RedirectSeen("https://c.example/feed", 1), None),
        ),
    ],
)
def test_a_permanent_redirect_moves_the_feed_after_three_polls_in_a_row(
    seen_before: tuple[str | None, int], moved_to: str | None, expected: Any
) -> None:
    feed = claimed(redirect_url=seen_before[0], redirect_count=seen_before[1])
    assert follow_redirect(feed, moved_to) == expected


def test_a_body_is_parsed_only_when_it_may_hold_a_change() -> None:
    body = b"<rss><channel><lastBuildDate>Mon</lastBuildDate><item>x</item></channel></rss>"
    later = body.replace(b"Mon", b"Tue")
    result = FetchResult("https://a.example/feed", 200, body, None, None)
    seen = Validators.of(result)
    same = claimed(body_hash=seen.body_hash, scan_hash=seen.scan_hash)
    assert seen.skip_parse(same) is PollStatus.NOT_MODIFIED
    dated = Validators.of(FetchResult(result.url, 200, later, None, None))
    assert dated.skip_parse(same) is PollStatus.UNCHANGED  # only a date differs
    assert dated.skip_parse(claimed(scan_hash=seen.scan_hash, synced=False)) is None
    other = Validators.of(FetchResult(result.url, 200, later.replace(b"x", b"y"), None, None))
    assert other.skip_parse(same) is None


@pytest.mark.parametrize(
    ("failures_before", "error", "status", "failing", "at_least"),
    [
        (0, FetchError("u", "connection refused"), PollStatus.ERROR, False, 60),
        (2, FetchError("u", "connection refused"), PollStatus.ERROR, True, 60),
        (0, HTTPStatusError("u", 410), PollStatus.GONE, False, 60),
        (0, HTTPStatusError("u", 503, retry_after=5400), PollStatus.ERROR, False, 5400),
    ],
)
def test_a_failed_poll_backs_off_fails_after_a_while_and_a_410_disables(
    failures_before: int, error: Any, status: PollStatus, failing: bool, at_least: float
) -> None:
    intent = failed_intent(
        claimed(consecutive_failures=failures_before), POLL, error, NOW, random.Random(1)
    )
    assert intent.status is status
    assert intent.failing is failing
    assert intent.next_poll_at - NOW >= timedelta(seconds=at_least)
    assert intent.error is not None
    assert status is not PollStatus.GONE or "disabled" in intent.error


@pytest.mark.parametrize(
    ("attempts", "error", "expected"),
    [
        (1, SinkError("HTTP 500"), 100.0),
        (2, SinkError("HTTP 500"), 1000.0),
        (3, SinkError("HTTP 500"), None),  # the table ran out: dead
        (1, SinkError("HTTP 400", permanent=True), None),
        (1, SinkError("HTTP 429", retry_after=500), 500.0),  # Retry-After lengthens
        (2, SinkError("HTTP 429", retry_after=5), 1000.0),  # but never shortens
        (1, SinkError("HTTP 429", retry_after=10**6), 3600.0),  # and is capped
    ],
)
def test_when_a_failed_alert_is_tried_again(
    attempts: int, error: SinkError, expected: float | None
) -> None:
    policy = SinkPolicy(retries=(100.0, 1000.0), jitter=0.0, retry_after_max=3600.0)
    assert next_attempt(policy, attempts, error, random.Random(1)) == expected


# --- what a poll writes to its feed row -----------------------------------------------------


def columns(status: PollStatus, **fields: Any) -> dict[str, Any]:
    return feed_columns(FeedUpdateIntent(1, NOW, NOW + timedelta(minutes=10), status, **fields))


def test_each_poll_status_sets_its_columns() -> None:
    ok = columns(PollStatus.OK, body_hash="b", etag="e", title="T")
    assert ok["last_success_at"] == NOW
    assert ok["last_parsed_at"] == NOW
    assert (ok["consecutive_failures"], ok["etag"], ok["title"]) == (0, "e", "T")
    not_modified = columns(PollStatus.NOT_MODIFIED)
    assert "etag" not in not_modified
    assert "last_parsed_at" not in not_modified
    # a warning about the body still served outlives a 304; an error does not
    assert isinstance(not_modified["last_error"], sa.sql.elements.Case)
    error = columns(PollStatus.ERROR, error="HTTP 500", failing=True)
    assert "last_success_at" not in error
    assert "failing_since" in error
    assert "disabled_at" not in error
    gone = columns(PollStatus.GONE, error="HTTP 410: feed disabled")
    assert (gone["disabled_at"], gone["disabled_reason"]) == (NOW, "HTTP 410: feed disabled")
    assert columns(PollStatus.OK, identity=IdentityMode.LINK)["identity"] is IdentityMode.LINK


@pytest.mark.parametrize(
    ("row", "state"),
    [
        ({"active": False, "disabled": True}, FeedState.REMOVED),
        ({"disabled": True, "failing": True}, FeedState.DISABLED),
        ({"failing": True, "last_status": "error"}, FeedState.FAILING),
        ({"last_status": None}, FeedState.NEVER_POLLED),
        ({"last_status": "gone"}, FeedState.ERROR),
        ({"last_status": "not_modified", "last_error_kind": MALFORMED}, FeedState.WARNING),
        ({"last_status": "unchanged"}, FeedState.OK),
    ],
)
def test_one_feed_state_vocabulary(row: dict[str, Any], state: FeedState) -> None:
    values = {
        "active": True,
        "disabled": False,
        "failing": False,
        "last_status": "ok",
        "last_error_kind": None,
        **row,
    }
    assert feed_state(**values) is state


def test_the_decider_and_the_matcher_agree_on_what_an_edit_is() -> None:
    """The Decider marks a material edit with its diff; the matcher alerts it to the rule that
    asks for updates (the two decisions chained, as a poll does)."""
    item = identify([ParsedEntry("x", L1, "Belarus dan sanksi baru", "", OLD[2], None, "id")])
    key = item.items[0].key
    known = StoredEntry(3, key, "old", None, 0, 0, 9, OLD)
    [decided] = Decider(NOW, first_sync=False).decide(item.items, {key: known})
    assert decided.kind is ChangeKind.UPDATED
    assert decided.material
    assert decided.diff
    write = MATCHER.plan(decided, FEED, {9: {"sanksi", "belarus"}}, NOW)
    assert planned(write) == {("sanksi", "desk", AlertKind.UPDATED)}
