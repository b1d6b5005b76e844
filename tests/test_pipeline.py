"""One feed update at a time: the pipeline over a real SQLite store and a loopback feed, without
a daemon around it, and the group commit of polls that write no entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.base.types import AlertKind, FeedForUpdate, FeedUpdateIntent, IdentityMode, PollStatus
from monitor.config import LoadedConfig, load_config
from monitor.flow.pipeline import Pipeline
from monitor.flow.reader import FeedReader
from monitor.stages.fetch import Fetcher, make_session
from monitor.store import FeedSchedule, Store
from monitor.store.batch import PollRecorder
from tests.configs import rule, write_config
from tests.conftest import FakeClock, FeedServer, count_rows

RULES = [rule("belarus", "Belarus*"), rule("sanksi", "sanksi", notify_updates=True)]


def rss(*items: tuple[str, str, str]) -> bytes:
    """A feed of ``(guid, link, title)`` items, each with the same short description."""
    body = "".join(
        f"<item><guid>{guid}</guid><link>{link}</link><title>{title}</title>"
        "<description>Kabar dari Minsk.</description></item>"
        for guid, link, title in items
    )
    return f'<rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


@pytest.fixture
async def setup(
    tmp_path: Path, feeds: FeedServer, clock: FakeClock
) -> AsyncIterator[tuple[Pipeline, Store, LoadedConfig]]:
    url = feeds.url("feed.xml")
    config_file = write_config(tmp_path, feeds=[url], rules=RULES, sinks={"hook": {"type": "log"}})
    config = load_config(config_file)
    store = await Store.open(config.settings.state, clock)
    await store.sync_feeds([FeedSchedule(url, None, 600)])
    session = make_session(concurrency=4, per_host=2, user_agent=None)
    recorder = PollRecorder(store, "n1")
    pipeline = Pipeline(store, FeedReader(Fetcher(session, 10**6)), "n1", recorder)
    try:
        yield pipeline, store, config
    finally:
        await recorder.drain()
        await session.close()
        await store.close()


async def poll(pipeline: Pipeline, store: Store, config: LoadedConfig) -> PollStatus:
    [feed] = await store.claim_due_feeds("n1", 60, 1, due_before=store.now().replace(year=9999))
    async with asyncio.timeout(10):
        return (await pipeline.update_feed(feed, config)).status


async def claim(store: Store) -> FeedForUpdate:
    [feed] = await store.claim_due_feeds("n1", 60, 1, due_before=store.now().replace(year=9999))
    await store.release_feed(feed.id, "n1")
    return feed


async def test_guids_that_change_on_every_fetch_are_the_same_entries_told_apart_by_link(
    setup: tuple[Pipeline, Store, LoadedConfig], feeds: FeedServer
) -> None:
    """A CMS that mints new GUIDs on every request: the second fetch moves the feed to links,
    entries keep their rows, and no fetch alerts for entries it already knew."""
    pipeline, store, config = setup
    links = [f"https://a.example/{n}" for n in range(3)]
    for fetch in range(4):
        feeds.set(
            "feed.xml", rss(*((f"g{fetch}-{n}", link, "Belarus") for n, link in enumerate(links)))
        )
        assert await poll(pipeline, store, config) is PollStatus.OK
        assert await count_rows(store, "entries") == 3, fetch
    assert (await claim(store)).identity is IdentityMode.LINK
    assert await count_rows(store, "alerts") == 0  # the first sync was silent; nothing was new


async def test_an_edit_alerts_only_the_rule_that_asks_for_updates(
    setup: tuple[Pipeline, Store, LoadedConfig], feeds: FeedServer
) -> None:
    pipeline, store, config = setup
    feeds.set("feed.xml", rss(("old", "https://a.example/0", "Cuaca")))
    await poll(pipeline, store, config)  # the first sync: recorded, silent
    feeds.set(
        "feed.xml",
        rss(
            ("new", "https://a.example/1", "Belarus dan sanksi"),
            ("old", "https://a.example/0", "Cuaca"),
        ),
    )
    await poll(pipeline, store, config)
    assert await count_rows(store, "alerts", kind=AlertKind.MATCHED) == 2
    feeds.set(
        "feed.xml",
        rss(
            ("new", "https://a.example/1", "Belarus dan sanksi baru"),
            ("old", "https://a.example/0", "Cuaca"),
        ),
    )
    await poll(pipeline, store, config)
    assert await count_rows(store, "alerts", kind=AlertKind.UPDATED) == 1
    assert await count_rows(store, "alerts", kind=AlertKind.UPDATED, rule_id="sanksi") == 1
    assert await count_rows(store, "revisions") == 1


async def test_polls_without_entries_are_committed_together(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Polls that write no entry arriving while a commit runs share the next one; a poll with
    entries has a transaction of its own."""
    store = await Store.open(f"sqlite:///{tmp_path / 's.db'}", clock)
    try:
        await store.sync_feeds(
            [FeedSchedule(f"https://a.example/{i}", None, 600) for i in range(20)]
        )
        later = clock.now.replace(year=9999)
        claimed = await store.claim_due_feeds("n1", 60, 100, due_before=later)
        recorder = PollRecorder(store, "n1")
        intents = [
            FeedUpdateIntent(f.id, clock.now, later, PollStatus.NOT_MODIFIED) for f in claimed
        ]
        async with asyncio.timeout(10):
            outcomes = await asyncio.gather(*(recorder.record(i) for i in intents))
        assert all(o.recorded for o in outcomes)
        assert 1 <= recorder.commits < len(intents)
        assert await count_rows(store, "feeds", last_status="not_modified") == 20
    finally:
        await store.close()


async def test_an_entry_less_feed_with_an_undefined_entity_keeps_its_pace(
    setup: tuple[Pipeline, Store, LoadedConfig], feeds: FeedServer
) -> None:
    """A new feed whose channel title has one ``&bogus;`` and no items yet: polled at its
    interval with a warning (not backed off as failing), so its first items come in time."""
    pipeline, store, config = setup
    for n in range(3):
        title = f"<title>A &bogus; desk {n}</title>"
        feeds.set("feed.xml", f'<rss version="2.0"><channel>{title}</channel></rss>'.encode())
        assert await poll(pipeline, store, config) is PollStatus.OK
        feed = await claim(store)
        assert feed.consecutive_failures == 0
        assert await count_rows(store, "feeds", last_error_kind="malformed") == 1
        # due again within its 600 s interval (plus jitter), not hours later
        due = store.now() + timedelta(seconds=900)
        [row] = await store.claim_due_feeds("n1", 60, 1, due_before=due)
        await store.release_feed(row.id, "n1")
