"""Leases among nodes: a dead node's work is taken at expiry, a slow one renews and keeps it,
claims are fair; node rows and the config fingerprint. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.app.nodes import config_fingerprint
from monitor.base.settings import Settings
from monitor.base.types import FeedUpdateIntent, PollStatus
from monitor.store import FeedSchedule, Leases, NodeBeat, NodeState, Store
from tests.conftest import FakeClock

LEASES = Leases(feeds=5.0, alerts=5.0)


@pytest.fixture
async def store(state: str, clock: FakeClock) -> AsyncIterator[Store]:
    opened = await Store.open(state, clock)
    yield opened
    await opened.close()


def beat(store: Store, node: str, fingerprint: str = "f" * 64, pid: int = 1) -> NodeBeat:
    return NodeBeat(node, "host", pid, "1.0", fingerprint, store.now())


def polled(feed_id: int, clock: FakeClock, interval: float = 60) -> FeedUpdateIntent:
    return FeedUpdateIntent(
        feed_id, clock(), clock() + timedelta(seconds=interval), PollStatus.NOT_MODIFIED
    )


async def test_a_dead_nodes_feeds_are_taken_when_its_lease_runs_out(
    store: Store, clock: FakeClock
) -> None:
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 600) for i in range(4)])
    clock.advance(10)
    held = await store.claim_due_feeds("a", 5, 100)
    assert len(held) == 4
    clock.advance(4)
    assert await store.claim_due_feeds("b", 5, 100) == []  # still a's
    clock.advance(2)  # a died: no heartbeat renewed its lease
    taken = await store.claim_due_feeds("b", 5, 100)
    assert sorted(f.id for f in taken) == sorted(f.id for f in held)
    late = await store.record_update(polled(held[0].id, clock), "a")
    assert not late.recorded  # a's late answer is refused: b polls it now


async def test_a_slow_node_renews_its_leases_and_keeps_its_work(
    store: Store, clock: FakeClock
) -> None:
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 600) for i in range(3)])
    clock.advance(10)
    held = await store.claim_due_feeds("a", 5, 100)
    for _ in range(6):  # a poll taking 18 s, with a heartbeat every 3 s
        clock.advance(3)
        await store.heartbeat(beat(store, "a"), LEASES, 86400)
        assert await store.claim_due_feeds("b", 5, 100) == []
    nodes = await store.list_nodes(gone_after=30)
    assert [(n.id, n.feeds_held) for n in nodes] == [("a", 3)]
    outcome = await store.record_update(polled(held[0].id, clock), "a")
    assert outcome.recorded
    await store.heartbeat(beat(store, "a"), LEASES, 86400)
    assert (await store.list_nodes(gone_after=30))[0].feeds_held == 2


async def test_claims_are_fair_no_feed_is_polled_twice_before_all_were_polled(
    store: Store, clock: FakeClock
) -> None:
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 60) for i in range(12)])
    clock.advance(61)  # all due
    ids = {f.id for f in await store.claim_due_feeds("probe", 30, 100)}
    for feed_id in ids:
        await store.release_feed(feed_id, "probe")
    polls: Counter[int] = Counter()
    for _ in range(8):  # two nodes, room for 3 each per tick; each feed is due again after 1 s
        for node in ("a", "b"):
            for feed in await store.claim_due_feeds(node, 30, 3):
                polls[feed.id] += 1
                assert (await store.record_update(polled(feed.id, clock, 1), node)).recorded
        counts = [polls[i] for i in ids]
        assert max(counts) - min(counts) <= 1, polls  # the longest waiting goes first
        clock.advance(0.5)
    assert [polls[i] for i in ids] == [4] * 12


async def test_nodes_not_seen_are_gone_then_forgotten_and_a_differing_config_is_flagged(
    store: Store, clock: FakeClock
) -> None:
    for node in ("a", "b"):
        await store.heartbeat(beat(store, node), LEASES, 3600)
    await store.heartbeat(beat(store, "c", fingerprint="e" * 64), LEASES, 3600)
    nodes = {n.id: n for n in await store.list_nodes(gone_after=30)}
    assert {n: (v.state, v.config_differs) for n, v in nodes.items()} == {
        "a": (NodeState.LIVE, False),
        "b": (NodeState.LIVE, False),
        "c": (NodeState.LIVE, True),
    }
    clock.advance(40)  # c stopped beating
    for node in ("a", "b"):
        await store.heartbeat(beat(store, node), LEASES, 3600)
    nodes = {n.id: n for n in await store.list_nodes(gone_after=30)}
    assert (nodes["c"].state, nodes["c"].config_differs) == (NodeState.GONE, False)
    assert not nodes["a"].config_differs
    clock.advance(3601)
    await store.heartbeat(beat(store, "a"), LEASES, 3600)
    assert [n.id for n in await store.list_nodes(gone_after=30)] == ["a"]


async def test_leaving_hands_the_leases_back_at_once(store: Store, clock: FakeClock) -> None:
    await store.sync_feeds([FeedSchedule(f"http://a.example/{i}", None, 600) for i in range(2)])
    clock.advance(10)
    assert len(await store.claim_due_feeds("a", 300, 100)) == 2
    await store.leave("a")
    assert len(await store.claim_due_feeds("b", 300, 100)) == 2


SHARED = {
    "feeds": [{"url": "https://a.example/feed"}],
    "rules": [{"id": "r", "query": "Belarus"}],
    "sinks": {"hook": {"type": "webhook", "url": "https://hooks.example/x"}},
}


def test_the_fingerprint_covers_what_nodes_share_not_what_is_their_own() -> None:
    base = config_fingerprint(Settings.model_validate({**SHARED, "node_id": "a"}))
    local = Settings.model_validate(
        {
            **SHARED,
            "node_id": "b",
            "state": "postgresql://db.example/newsmon",
            "http": {"listen": "127.0.0.1:9999"},
            "defaults": {"parse_workers": 3, "concurrency": 4},
        }
    )
    assert config_fingerprint(local) == base
    for change in (
        {"rules": [{"id": "r", "query": "Minsk"}]},
        {"feeds": [{"url": "https://b.example/feed"}]},
        {"sinks": {"hook": {"type": "webhook", "url": "https://hooks.example/y"}}},
        {"groups": {"g": "a.example"}},
        {"defaults": {"interval": "5m"}},
    ):
        assert config_fingerprint(Settings.model_validate({**SHARED, **change})) != base


def test_the_default_node_id_is_stable_across_restarts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    first, second = Settings().node_id, Settings().node_id
    assert first == second == f"{socket.gethostname()}:{tmp_path}"
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/newsmon")
    assert Settings().node_id == f"{socket.gethostname()}:/var/lib/newsmon"
