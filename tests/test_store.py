"""The state store on real SQLite and real PostgreSQL: schema, leases, atomic updates, outbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from monitor.base.errors import StoreError
from monitor.base.types import (
    AlertDraft,
    AlertKind,
    ChangeKind,
    EntryChange,
    EntryWrite,
    FeedRhythm,
    FeedUpdateIntent,
    ParsedEntry,
    PollStatus,
    RedirectSeen,
    Relocation,
)
from monitor.store import FeedSchedule, Store
from monitor.store.batch import PollRecorder
from monitor.store.schema import metadata
from tests.conftest import FakeClock, count_rows

DAY = timedelta(days=1)


@pytest.fixture
async def store(state: str, clock: FakeClock) -> AsyncIterator[Store]:
    opened = await Store.open(state, clock, exclusive=True)
    yield opened
    await opened.close()


def new_entry(key: str, alert_ids: tuple[str, ...] = ()) -> EntryWrite:
    entry = ParsedEntry(key, f"https://a.example/{key}", f"title {key}", "", "body", None)
    change = EntryChange(ChangeKind.NEW, key, entry, entry.link, f"hash-{key}", None, True)
    alerts = tuple(
        AlertDraft(i, "hook", f"rule-{i}", AlertKind.MATCHED, {"n": i}) for i in alert_ids
    )
    return EntryWrite(change, (("rule", [{"text": "x"}]),) if alerts else (), alerts)


def intent(store: Store, feed_id: int, *entries: EntryWrite, etag: str = "e1") -> FeedUpdateIntent:
    now = store.now()
    return FeedUpdateIntent(
        feed_id,
        now,
        now + timedelta(minutes=10),
        PollStatus.OK,
        etag=etag,
        body_hash="b",
        entries=entries,
    )


async def claim_one(store: Store, node: str = "n1") -> int:
    [feed] = await store.claim_due_feeds(node, 60, 10, due_before=store.now() + timedelta(days=1))
    return feed.id


async def test_migrations_build_exactly_the_declared_schema(store: Store, state: str) -> None:
    """The Alembic revisions and schema.py agree (a change to one needs the other)."""

    def diff(connection: sa.Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async with store._engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_reopening_migrated_state_keeps_it(state: str, clock: FakeClock) -> None:
    first = await Store.open(state, clock)
    await first.sync_feeds([FeedSchedule("http://a.example/f", "a", 60)])
    await first.close()
    second = await Store.open(state, clock)
    try:
        assert await count_rows(second, "feeds") == 1
    finally:
        await second.close()


async def test_only_due_feeds_are_claimed_and_a_lease_excludes_others(
    store: Store, clock: FakeClock
) -> None:
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 600) for i in range(3)])
    assert await store.claim_due_feeds("n1", 60, 10) == []  # first polls are spread out
    clock.advance(10)
    claimed = await store.claim_due_feeds("n1", 60, 2)
    assert len(claimed) == 2
    rest = await store.claim_due_feeds("n2", 600, 10)
    assert [f.id for f in rest] == sorted({1, 2, 3} - {f.id for f in claimed})
    assert await store.claim_due_feeds("n2", 60, 10) == []
    clock.advance(61)  # the leases of n1 expired: n2 may take those feeds over
    assert len(await store.claim_due_feeds("n2", 60, 10)) == 2


async def test_a_node_that_lost_its_lease_records_nothing(store: Store, clock: FakeClock) -> None:
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store, "n1")
    clock.advance(61)
    assert await claim_one(store, "n2") == feed_id
    outcome = await store.record_update(intent(store, feed_id, new_entry("a", ("msg_a",))), "n1")
    assert not outcome.recorded
    assert await count_rows(store, "entries") == 0
    assert (await store.record_update(intent(store, feed_id, new_entry("a")), "n2")).recorded


async def test_an_update_is_one_transaction(store: Store) -> None:
    """A failure while writing alerts leaves no entry, no validator and no lease change."""
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    broken = EntryWrite(
        new_entry("a").change,
        (),
        (AlertDraft("msg_x", "hook", "rule", AlertKind.MATCHED, {"bad": {1, 2}}),),
    )
    with pytest.raises(Exception, match="JSON serializable"):
        await store.record_update(intent(store, feed_id, broken, etag="new"), "n1")
    assert await count_rows(store, "entries") == 0
    [feed] = await store.list_feeds()
    assert feed["last_status"] is None
    assert (await store.record_update(intent(store, feed_id, new_entry("a")), "n1")).recorded


async def test_the_outbox_refuses_a_second_alert_for_the_same_story(
    store: Store, clock: FakeClock
) -> None:
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    outcome = await store.record_update(intent(store, feed_id, new_entry("a", ("msg_1",))), "n1")
    assert outcome.alerts == 1
    # The same story decided NEW again (say, by a second node) must not enqueue it twice.
    clock.advance(700)
    feed_id = await claim_one(store)
    outcome = await store.record_update(intent(store, feed_id, new_entry("a", ("msg_1",))), "n1")
    assert outcome.alerts == 0
    assert await count_rows(store, "alerts") == 1
    assert await count_rows(store, "entries") == 1


async def test_alert_claims_leases_and_outcomes(store: Store, clock: FakeClock) -> None:
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    await store.record_update(intent(store, feed_id, new_entry("a", ("msg_1", "msg_2"))), "n1")
    first = await store.claim_alerts("n1", 30, 1)
    second = await store.claim_alerts("n2", 30, 10)
    assert {a.id for a in first} | {a.id for a in second} == {"msg_1", "msg_2"}
    assert await store.claim_alerts("n3", 30, 10) == []
    await store.mark_delivered(first[0].id)
    await store.schedule_retry(second[0].id, "n2", clock.now + timedelta(seconds=5), "HTTP 500")
    assert await store.claim_alerts("n1", 30, 10) == []
    clock.advance(6)
    [again] = await store.claim_alerts("n1", 30, 10)
    assert again.id == second[0].id
    assert again.attempts == 2
    await store.mark_dead(again.id, "n1", "gave up", attempt=again.attempts)
    assert await store.replay_alert(again.id)
    assert not await store.replay_alert(again.id)  # no longer dead
    assert [a.id for a in await store.claim_alerts("n1", 30, 10)] == [again.id]


async def test_an_outcome_after_the_lease_was_lost_changes_nothing(
    store: Store, clock: FakeClock
) -> None:
    """Only the claim that holds the lease settles a failure: a delivery that outlived its lease
    cannot mark dead or reschedule a row another claim delivered or now holds."""
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    await store.record_update(intent(store, feed_id, new_entry("a", ("m1", "m2", "m3"))), "n1")
    [slow] = await store.claim_alerts("n1", 30, 1)
    clock.advance(31)
    [taken] = await store.claim_alerts("n2", 30, 1)
    assert (taken.id, taken.attempts) == (slow.id, 2)
    later = clock.now + timedelta(seconds=5)

    await store.mark_dead(slow.id, "n1", "HTTP 500", attempt=1)  # n2 holds it now
    await store.schedule_retry(slow.id, "n1", later, "HTTP 500", attempt=1)
    [row] = [a for a in await store.list_alerts() if a["id"] == slow.id]
    assert (row["state"], row["last_error"], row["next_attempt_at"]) == (
        "pending",
        None,
        clock.now - timedelta(seconds=31),
    )

    await store.mark_delivered(taken.id)
    await store.mark_dead(slow.id, "n1", "HTTP 500", attempt=1)
    await store.mark_dead(taken.id, "n2", "HTTP 500", attempt=2)  # settled already
    assert await count_rows(store, "alerts", id=slow.id, state="delivered") == 1

    # One node, two claims of one row (the first outlived its lease): the attempt tells them apart.
    [first] = await store.claim_alerts("n1", 30, 1)
    clock.advance(31)
    [second] = await store.claim_alerts("n1", 30, 1)
    assert first.id == second.id
    await store.mark_dead(first.id, "n1", "gave up", attempt=first.attempts)
    assert await count_rows(store, "alerts", id=first.id, state="pending") == 1
    await store.mark_dead(second.id, "n1", "gave up", attempt=second.attempts)
    assert await count_rows(store, "alerts", id=first.id, state="dead") == 1


async def test_an_acknowledgement_settles_a_row_whoever_holds_it(
    store: Store, clock: FakeClock
) -> None:
    """The receiver said 2xx: the row is delivered even if its lease passed to another claim, or
    that claim gave up on it; a delivered row stays delivered."""
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    await store.record_update(intent(store, feed_id, new_entry("a", ("m1",))), "n1")
    [slow] = await store.claim_alerts("n1", 30, 1)
    clock.advance(31)
    [taken] = await store.claim_alerts("n2", 30, 1)
    await store.mark_dead(taken.id, "n2", "HTTP 404", attempt=taken.attempts)
    await store.mark_delivered(slow.id)
    [row] = await store.list_alerts()
    assert (row["state"], row["last_error"]) == ("delivered", None)
    delivered_at = row["delivered_at"]
    clock.advance(60)
    await store.mark_delivered(slow.id)
    assert not await store.replay_alert(slow.id)
    [row] = await store.list_alerts()
    assert (row["state"], row["delivered_at"]) == ("delivered", delivered_at)


@pytest.mark.postgres
async def test_concurrent_claims_on_postgres_never_overlap(pg_state: str, clock: FakeClock) -> None:
    """FOR UPDATE SKIP LOCKED: many nodes claiming at once each get distinct alerts."""
    store = await Store.open(pg_state, clock)
    try:
        await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
        feed_id = await claim_one(store)
        ids = tuple(f"msg_{i}" for i in range(200))
        await store.record_update(intent(store, feed_id, new_entry("a", ids)), "n1")
        batches = await asyncio.gather(*(store.claim_alerts(f"n{i}", 30, 7) for i in range(20)))
        claimed = [a.id for batch in batches for a in batch]
        assert len(claimed) == len(set(claimed)) == 140
    finally:
        await store.close()


async def test_removed_feeds_keep_their_state_and_come_back(store: Store, clock: FakeClock) -> None:
    await store.sync_feeds(
        [FeedSchedule("http://a.example/f", "a", 600), FeedSchedule("http://b.example/f", "b", 600)]
    )
    clock.advance(10)
    for feed in await store.claim_due_feeds("n1", 60, 10):
        await store.record_update(intent(store, feed.id, new_entry(f"e{feed.id}")), "n1")
    await store.sync_feeds([FeedSchedule("http://b.example/f", "b", 600)])
    rows = {r["url"]: r for r in await store.list_feeds()}
    assert rows["http://a.example/f"]["active"] is False
    assert rows["http://a.example/f"]["entries"] == 1
    clock.advance(3600)
    assert [f.url for f in await store.claim_due_feeds("n1", 60, 10)] == ["http://b.example/f"]
    await store.sync_feeds([FeedSchedule("http://a.example/f", "a", 60)])
    rows = {r["url"]: r for r in await store.list_feeds()}
    assert rows["http://a.example/f"]["active"] is True
    assert rows["http://a.example/f"]["entries"] == 1


async def test_a_shorter_interval_brings_the_next_poll_forward(
    store: Store, clock: FakeClock
) -> None:
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 86400)])
    feed_id = await claim_one(store)
    now = clock.now
    await store.record_update(
        FeedUpdateIntent(feed_id, now, now + timedelta(days=1), PollStatus.OK), "n1"
    )
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 60)])
    [row] = await store.list_feeds()
    assert row["next_poll_at"] == now + timedelta(seconds=60)


async def test_sqlite_state_serves_one_process(tmp_path, clock: FakeClock) -> None:
    state = f"sqlite:///{tmp_path / 'x.db'}"
    first = await Store.open(state, clock, exclusive=True)
    try:
        with pytest.raises(StoreError, match="in use by pid"):
            await Store.open(state, clock, exclusive=True)
        async with first._engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            sync = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        assert (mode, sync) == ("wal", 2)  # 2 = FULL
    finally:
        await first.close()
    second = await Store.open(state, clock, exclusive=True)
    await second.close()


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "not a url"])
async def test_unsupported_state_urls_are_clear_errors(url: str, clock: FakeClock) -> None:
    with pytest.raises(StoreError, match="state"):
        await Store.open(url, clock)


async def test_claims_by_sink_and_kind_and_never_for_a_disabled_sink(
    store: Store, clock: FakeClock
) -> None:
    """Lanes claim their own sink's alerts; a disabled sink's alerts stay pending, unclaimed."""
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    await store.record_update(intent(store, feed_id, new_entry("a", ("m1", "m2"))), "n1")
    assert await store.claim_alerts("n1", 60, 10, sink="other") == []
    assert await store.claim_alerts("n1", 60, 10, sink="hook", kinds=("digest",)) == []
    assert await store.disable_sink("hook", "HTTP 410 Gone")
    assert not await store.disable_sink("hook", "again")  # already disabled: one event
    assert await store.claim_alerts("n1", 60, 10) == []
    assert await count_rows(store, "alerts", state="pending") == 2
    assert await store.enable_sink("hook")
    assert [a.id for a in await store.claim_alerts("n1", 60, 10, sink="hook")] == ["m1", "m2"]


async def test_syncing_sinks_re_enables_a_changed_sink_and_kills_orphans(
    store: Store, clock: FakeClock
) -> None:
    """A disabled sink whose destination changed is enabled; one left alone stays disabled;
    pending alerts of a sink that is gone become dead (replayable), not stuck."""
    await store.sync_sinks({"hook": "url-1", "other": "o"})
    await store.disable_sink("hook", "HTTP 410 Gone")
    await store.disable_sink("other", "HTTP 410 Gone")
    sync = await store.sync_sinks({"hook": "url-2", "other": "o"})
    assert (sync.enabled, sync.disabled) == (("hook",), ("other",))
    assert (await store.get_sink("hook") or {})["disabled_at"] is None

    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    await store.record_update(intent(store, feed_id, new_entry("a", ("m1",))), "n1")
    sync = await store.sync_sinks({"other": "o"})
    assert sync.orphaned == 1
    [dead] = await store.list_alerts(state="dead")
    assert dead["last_error"] == "its sink is no longer configured"
    assert await store.replay_alert("m1")


# --- polite fetching (migration 0002) ----------------------------------------------------------


def poll(
    store: Store, feed_id: int, status: str = "not_modified", **fields: object
) -> FeedUpdateIntent:
    now = store.now()
    return FeedUpdateIntent(
        feed_id,
        now,
        now + timedelta(minutes=10),
        PollStatus(status),
        **fields,  # type: ignore[arg-type]
    )


async def test_entry_less_polls_are_recorded_together_and_a_lost_lease_only_drops_its_own(
    store: Store, clock: FakeClock
) -> None:
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 600) for i in range(3)])
    clock.advance(10)
    first, second, third = await store.claim_due_feeds("n1", 60, 10)
    clock.advance(61)
    [taken] = await store.claim_due_feeds("n2", 60, 1)  # n2 takes one of n1's expired leases
    outcomes = await store.record_polls(
        [
            poll(store, first.id, etag="e", body_hash="b", scan_hash="s"),
            poll(store, second.id, "error", error="HTTP 500", error_kind="http"),
            poll(store, third.id),
        ],
        "n1",
    )
    assert [o.recorded for o in outcomes] == [f.id != taken.id for f in (first, second, third)]
    rows = {r["url"]: r for r in await store.list_feeds()}
    recorded = {f.url for f in (first, second, third) if f.id != taken.id}
    for url, row in rows.items():
        assert (row["last_status"] is not None) == (url in recorded)


async def test_polls_with_entries_are_recorded_together_each_with_its_own_alerts(
    store: Store, clock: FakeClock
) -> None:
    """One transaction for a batch: entries of the same key in two feeds are two entries, each
    poll counts its own outbox rows, and a poll whose lease was lost writes nothing."""
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 600) for i in range(3)])
    clock.advance(10)
    first, second, third = await store.claim_due_feeds("n1", 60, 10)
    clock.advance(61)
    [taken] = await store.claim_due_feeds("n2", 60, 1)
    ours = [f for f in (first, second, third) if f.id != taken.id]
    outcomes = await store.record_polls(
        [
            intent(store, ours[0].id, new_entry("a", ("m1", "m2"))),
            intent(store, taken.id, new_entry("b", ("m3",))),
            intent(store, ours[1].id, new_entry("a"), new_entry("c", ("m4",))),
        ],
        "n1",
    )
    assert [(o.recorded, o.alerts) for o in outcomes] == [(True, 2), (False, 0), (True, 1)]
    assert await count_rows(store, "entries") == 3
    assert {a.id for a in await store.claim_alerts("n1", 30, 10)} == {"m1", "m2", "m4"}
    rows = {r["url"]: r for r in await store.list_feeds()}
    assert [rows[f.url]["entries"] for f in ours] == [1, 2]
    assert rows[taken.url]["entries"] == 0


async def test_a_gone_feed_is_disabled_until_enabled_again(store: Store, clock: FakeClock) -> None:
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    await store.record_polls(
        [poll(store, feed_id, "gone", error="HTTP 410 Gone: feed disabled")], "n1"
    )
    [row] = await store.list_feeds()
    assert row["disabled_at"] == clock.now
    assert row["disabled_reason"] == "HTTP 410 Gone: feed disabled"
    clock.advance(10**6)
    assert await store.claim_due_feeds("n1", 60, 10) == []
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])  # a reload: still off
    assert await store.claim_due_feeds("n1", 60, 10) == []
    assert await store.enable_feed("http://a.example/f")
    assert not await store.enable_feed("http://a.example/f")
    assert len(await store.claim_due_feeds("n1", 60, 10)) == 1


async def test_failing_is_set_once_and_cleared_by_a_success(store: Store, clock: FakeClock) -> None:
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    since = None
    for failing in (False, True, True):
        feed_id = await claim_one(store)
        await store.record_polls([poll(store, feed_id, "error", error="x", failing=failing)], "n1")
        [row] = await store.list_feeds()
        since = since or row["failing_since"]
        clock.advance(700)
    assert row["consecutive_failures"] == 3
    assert row["failing_since"] == since == clock.now - timedelta(seconds=1400)
    feed_id = await claim_one(store)
    await store.record_polls([poll(store, feed_id)], "n1")
    [row] = await store.list_feeds()
    assert (row["consecutive_failures"], row["failing_since"]) == (0, None)


async def test_where_a_feed_is_fetched_from_and_its_rhythm_are_remembered(
    store: Store, clock: FakeClock
) -> None:
    """The claimed feed carries what the last polls learnt; the config URL stays its name."""
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    feed_id = await claim_one(store)
    await store.record_polls(
        [
            poll(
                store,
                feed_id,
                redirect=RedirectSeen("http://b.example/f", 2),
                relocation=Relocation("http://c.example/f", "moved"),
                rhythm=FeedRhythm(900.0, 3600.0),
                body_hash="b",
                scan_hash="s",
            )
        ],
        "n1",
    )
    clock.advance(700)
    [feed] = await store.claim_due_feeds("n1", 60, 10)
    assert feed.url == "http://a.example/f"
    assert feed.fetch_url == "http://c.example/f"
    assert (feed.redirect_url, feed.redirect_count) == ("http://b.example/f", 2)
    assert (feed.entry_interval, feed.publisher_interval) == (900.0, 3600.0)
    assert (feed.body_hash, feed.scan_hash) == ("b", "s")
    await store.record_polls([poll(store, feed.id, "error", error="timeout")], "n1")
    clock.advance(700)
    [again] = await store.claim_due_feeds("n1", 60, 10)
    assert again.scan_hash == "s"  # a failed poll leaves validators and rhythm alone
    assert again.entry_interval == 900.0


# --- upgrades keep what was seen (migration 0004: stories) -------------------------------------


async def test_upgrading_to_stories_keeps_entries_matches_and_alerts(
    state: str, clock: FakeClock
) -> None:
    """State written before stories existed upgrades with nothing lost: every entry gets a
    story (one per canonical link), alerts keep theirs, and the outbox stays single."""
    from monitor.store import engine as engine_mod

    engine = engine_mod.create_engine(engine_mod.database_url(state))
    try:
        await engine_mod.migrate(engine, "0003")
        now = clock()
        async with engine.begin() as conn:
            for feed_id in (1, 2):
                await conn.execute(
                    sa.text(
                        "INSERT INTO feeds (id, url, active, created_at, next_poll_at) "
                        "VALUES (:id, :url, :active, :now, :now)"
                    ),
                    {
                        "id": feed_id,
                        "url": f"https://f{feed_id}.example/rss",
                        "active": True,
                        "now": now,
                    },
                )
            entries = [  # (id, feed, key, canonical link): entries 1 and 3 tell one story
                (1, 1, "guid:a", "https://news.example/a"),
                (2, 1, "guid:b", "https://news.example/b"),
                (3, 2, "guid:c", "https://news.example/a"),
            ]
            for entry_id, feed_id, key, link in entries:
                await conn.execute(
                    sa.text(
                        "INSERT INTO entries (id, feed_id, key, url, canonical_url, title, "
                        "content_hash, first_seen_at, updated_at) VALUES "
                        "(:id, :feed, :key, :url, :url, :title, :hash, :now, :now)"
                    ),
                    {
                        "id": entry_id,
                        "feed": feed_id,
                        "key": key,
                        "url": link,
                        "title": f"title {entry_id}",
                        "hash": f"h{entry_id}",
                        "now": now,
                    },
                )
                await conn.execute(
                    sa.text(
                        "INSERT INTO matches (entry_id, rule_id, revision, hits, created_at) "
                        "VALUES (:id, 'r', 0, '[]', :now)"
                    ),
                    {"id": entry_id, "now": now},
                )
                await conn.execute(
                    sa.text(
                        "INSERT INTO alerts (id, sink, rule_id, entry_id, revision, kind, "
                        "payload, state, attempts, next_attempt_at, created_at) VALUES "
                        "(:alert, 'hook', 'r', :id, 0, 'article.matched', '{}', 'delivered', "
                        "1, :now, :now)"
                    ),
                    {"alert": f"msg_{entry_id}", "id": entry_id, "now": now},
                )
    finally:
        await engine.dispose()

    store = await Store.open(state, clock)
    try:
        assert await count_rows(store, "entries") == 3
        assert await count_rows(store, "matches") == 3
        assert await count_rows(store, "alerts") == 3
        assert await count_rows(store, "stories") == 2
        async with store._engine.connect() as conn:
            rows = (
                await conn.execute(sa.text("SELECT id, story_id, last_seen_at FROM entries"))
            ).all()
            story = {row.id: row.story_id for row in rows}
            assert story[1] == story[3] != story[2]
            assert all(row.last_seen_at is not None for row in rows)
            linked = (
                await conn.execute(sa.text("SELECT id, story_id FROM alerts ORDER BY id"))
            ).all()
            if store.dialect == "sqlite":  # off only while migrating
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        # The first alert speaks for the story; the second copy's alert stays, unlinked.
        assert [(row.id, row.story_id) for row in linked] == [
            ("msg_1", story[1]),
            ("msg_2", story[2]),
            ("msg_3", None),
        ]
    finally:
        await store.close()


async def test_a_warning_about_the_body_lasts_while_the_body_does(store: Store) -> None:
    """A feed read despite a problem keeps it (kind ``malformed``) through polls that parse
    nothing (the same body); an error replaces it, and a poll after an error clears that."""
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])

    async def record(status: str, **fields: object) -> tuple[object, object]:
        feed_id = await claim_one(store)
        await store.record_polls([poll(store, feed_id, status, **fields)], "n1")
        [row] = await store.list_feeds()
        return row["last_error"], row["last_error_kind"]

    warned = ("charset is wrong", "malformed")
    assert await record("ok", error="charset is wrong", error_kind="malformed") == warned
    assert await record("not_modified") == warned
    assert await record("unchanged") == warned
    assert await record("ok") == (None, None)  # a clean parse
    await record("ok", error="charset is wrong", error_kind="malformed")
    assert await record("error", error="HTTP 500", error_kind="http") == ("HTTP 500", "http")
    assert await record("not_modified") == (None, None)


async def test_the_newest_entry_date_ignores_undated_and_future_entries(
    store: Store, clock: FakeClock
) -> None:
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 600) for i in range(2)])
    first, second = await store.claim_due_feeds("n1", 60, 10, due_before=clock.now + DAY)
    writes = []
    for key, published in (
        ("old", clock.now - 3 * DAY),
        ("new", clock.now - DAY),
        ("undated", None),
        ("future", clock.now + DAY),
    ):
        entry = ParsedEntry(key, f"https://a.example/{key}", key, "", "", published)
        writes.append(EntryWrite(EntryChange(ChangeKind.NEW, key, entry, None, key)))
    await store.record_update(intent(store, first.id, *writes), "n1")
    assert await store.get_newest_entry_date(first.id, clock.now) == clock.now - DAY
    assert await store.get_newest_entry_date(second.id, clock.now) is None


async def test_a_poll_that_cannot_be_written_fails_alone_in_its_batch(
    store: Store, clock: FakeClock
) -> None:
    """The recorder commits polls that end together in one transaction; when that fails, each
    is written alone, so only the broken one fails."""
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 600) for i in range(3)])
    clock.advance(10)
    feeds = await store.claim_due_feeds("n1", 60, 10)
    broken = EntryWrite(
        new_entry("x").change,
        (),
        (AlertDraft("msg_x", "hook", "rule", AlertKind.MATCHED, {"bad": {1, 2}}),),
    )
    recorder = PollRecorder(store, "n1")
    outcomes = await asyncio.gather(
        recorder.record(intent(store, feeds[0].id, new_entry("a", ("m1",)))),
        recorder.record(intent(store, feeds[1].id, broken)),
        recorder.record(intent(store, feeds[2].id)),
        return_exceptions=True,
    )
    assert "JSON serializable" in str(outcomes[1])
    assert [(o.recorded, o.alerts) for o in (outcomes[0], outcomes[2])] == [(True, 1), (True, 0)]
    rows = {r["url"]: r for r in await store.list_feeds()}
    assert rows[feeds[1].url]["last_status"] is None
    assert [rows[feeds[i].url]["last_status"] for i in (0, 2)] == ["ok", "ok"]
    assert await count_rows(store, "entries") == 1
