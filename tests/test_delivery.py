"""Webhook delivery and the dispatcher: signatures, statuses, retries, dead letters, replay."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError
from structlog.testing import capture_logs

from monitor.app.daemon import Daemon
from monitor.base.errors import SinkError, SinkGone
from monitor.base.settings import WebhookSinkSpec
from monitor.base.types import (
    Alert,
    AlertDraft,
    AlertKind,
    ChangeKind,
    EntryChange,
    EntryWrite,
    FeedUpdateIntent,
    ParsedEntry,
    PollStatus,
)
from monitor.config import load_config
from monitor.flow.dispatch import RETRY_SCHEDULE, Dispatcher, SinkPolicy
from monitor.stages.sinks import WebhookSink
from monitor.store import FeedSchedule, Store
from tests.configs import rule, webhook
from tests.conftest import (
    WEBHOOK_SECRET,
    Delivery,
    FakeClock,
    Receiver,
    ReceiverFactory,
    count_rows,
    run_once,
)

SECRET = WEBHOOK_SECRET
ALERT = Alert(
    "msg_abc",
    "hook",
    "rule",
    AlertKind.MATCHED,
    {
        "type": "article.matched",
        "timestamp": "2026-11-25T12:00:00Z",
        "data": {"article": {"title": "Belarus “sanksi” ✓"}},
    },
    1,
    datetime(2026, 11, 25, tzinfo=UTC),
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def sink(session: aiohttp.ClientSession, url: str, **options: object) -> WebhookSink:
    """A webhook sink signing with the receivers' secret unless ``secret`` is given."""
    spec = WebhookSinkSpec.model_validate(
        {"type": "webhook", "url": url, "secret": SECRET, **options}
    )
    return WebhookSink("hook", spec, session)


async def test_deliveries_verify_with_the_standard_webhooks_library(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await sink(session, receiver.url, secret=SECRET).deliver(ALERT)
    [delivery] = receiver.deliveries
    payload = Webhook(SECRET).verify(delivery.body, delivery.headers)
    assert payload == ALERT.payload
    assert delivery.headers["webhook-id"] == "msg_abc"
    assert delivery.headers["Content-Type"] == "application/json"


async def test_without_a_secret_there_is_no_signature(session, receiver: Receiver) -> None:
    receiver.unsigned = True
    await sink(session, receiver.url, secret=[]).deliver(ALERT)
    [delivery] = receiver.deliveries
    assert "webhook-signature" not in delivery.headers
    assert delivery.headers["webhook-id"] == "msg_abc"


async def test_the_test_receivers_refuse_unsigned_and_badly_signed_webhooks(session) -> None:
    """An unsigned or wrongly signed POST is recorded as a failure (the receiver fixtures fail
    the test on one), so no webhook test passes without a signature the reference verifies."""
    lone = Receiver()
    await lone.start()
    try:
        await sink(session, lone.url, secret=[]).deliver(ALERT)
        await sink(session, lone.url, secret=OLD_SECRET).deliver(ALERT)
        await sink(session, lone.url).deliver(ALERT)
    finally:
        await lone.stop()
    assert lone.verify_errors == ["msg_abc: unsigned", "msg_abc: No matching signature found"]


@pytest.mark.parametrize(
    ("answer", "retry_after", "kind"),
    [
        (500, None, SinkError),
        (404, None, SinkError),
        ((429, {"Retry-After": "30"}), 30.0, SinkError),
        ((503, {"Retry-After": "7"}), 7.0, SinkError),
        ((500, {"Retry-After": "7"}), None, SinkError),  # only 429 and 503 carry a wait
        (410, None, SinkGone),
    ],
)
async def test_non_2xx_answers_are_failures(
    session, receiver: Receiver, answer, retry_after, kind
) -> None:
    receiver.answer(answer)
    with pytest.raises(SinkError) as info:
        await sink(session, receiver.url).deliver(ALERT)
    assert type(info.value) is kind
    assert info.value.retry_after == retry_after
    assert info.value.permanent is False


async def test_redirects_are_failures_and_never_followed(
    session, receiver: Receiver, make_receiver: ReceiverFactory
) -> None:
    """A 302 is a failure and the target hears nothing at all: no POST, and no GET either (a
    client that follows a 302 turns the POST into a GET)."""
    target = await make_receiver()
    receiver.answer((302, {"Location": target.url}))
    with pytest.raises(SinkError, match="HTTP 302"):
        await sink(session, receiver.url).deliver(ALERT)
    assert receiver.requests == [("POST", "/hook")]
    assert target.requests == []


async def test_a_receiver_that_never_answers_times_out(session) -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hang)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(SinkError, match=r"no answer within 0\.5s"):
            await sink(session, f"http://127.0.0.1:{port}/hook", timeout="500ms").deliver(ALERT)
    finally:
        release.set()
        await runner.cleanup()


# --- the dispatcher ----------------------------------------------------------------------------


@pytest.fixture
async def outbox(tmp_path, clock: FakeClock) -> AsyncIterator[Store]:
    """A store with one pending alert for sink 'hook'."""
    store = await Store.open(f"sqlite:///{tmp_path / 'o.db'}", clock, exclusive=True)
    await store.sync_feeds([FeedSchedule("http://a.example/f", None, 600)])
    [feed] = await store.claim_due_feeds("n1", 60, 1, due_before=clock.now + timedelta(days=1))
    entry = ParsedEntry("g", "https://a.example/1", "t", "", "", None)
    change = EntryChange(ChangeKind.NEW, "g", entry, entry.link, "h", None, True)
    draft = AlertDraft("msg_1", "hook", "rule", AlertKind.MATCHED, ALERT.payload)
    now = clock.now
    await store.record_update(
        FeedUpdateIntent(
            feed.id, now, now, PollStatus.OK, entries=(EntryWrite(change, (), (draft,)),)
        ),
        "n1",
    )
    yield store
    await store.close()


async def attempt(store: Store, dispatcher: Dispatcher) -> list[str]:
    return [await dispatcher.deliver(a) for a in await store.claim_alerts("n1", 60, 10)]


async def test_the_retry_schedule_runs_out_into_a_dead_alert_that_replays(
    outbox: Store, clock: FakeClock, session, receiver: Receiver
) -> None:
    """Eight attempts over about a day, then dead (kept with its error); replay delivers it."""
    receiver.answer(*([500] * (len(RETRY_SCHEDULE) + 1)))
    dispatcher = Dispatcher(outbox, {"hook": sink(session, receiver.url)}, "n1", jitter=0)
    outcomes = await attempt(outbox, dispatcher)
    for delay in RETRY_SCHEDULE:
        clock.advance(delay - 1)
        assert await attempt(outbox, dispatcher) == []  # not due yet
        clock.advance(1)
        outcomes += await attempt(outbox, dispatcher)
    assert outcomes == ["retry"] * len(RETRY_SCHEDULE) + ["dead"]
    assert sum(RETRY_SCHEDULE) / 3600 == pytest.approx(27.6, abs=0.1)
    [dead] = await outbox.list_alerts(state="dead")
    assert dead["last_error"] == "HTTP 500"
    assert dead["attempts"] == len(RETRY_SCHEDULE) + 1

    assert await outbox.replay_alert("msg_1")
    assert await attempt(outbox, dispatcher) == ["delivered"]
    assert set(receiver.ids()) == {"msg_1"}
    assert len(receiver.deliveries) == len(RETRY_SCHEDULE) + 2


async def test_retry_after_is_honoured(outbox: Store, clock: FakeClock, session, receiver) -> None:
    receiver.answer((429, {"Retry-After": "120"}))
    dispatcher = Dispatcher(outbox, {"hook": sink(session, receiver.url)}, "n1", jitter=0)
    assert await attempt(outbox, dispatcher) == ["retry"]
    clock.advance(119)
    assert await attempt(outbox, dispatcher) == []
    clock.advance(1)
    assert await attempt(outbox, dispatcher) == ["delivered"]


async def test_gone_disables_the_sink_and_its_alerts_wait_visibly(
    outbox: Store, clock: FakeClock, session, receiver: Receiver
) -> None:
    """410: one request, the sink is disabled (with its reason), nothing more is attempted for a
    day; the alert stays pending, and enabling the sink delivers it."""
    receiver.answer(410)
    dispatcher = Dispatcher(outbox, {"hook": sink(session, receiver.url)}, "n1")
    assert await attempt(outbox, dispatcher) == ["disabled"]
    state = await outbox.get_sink("hook")
    assert state is not None
    assert state["disabled_at"] == clock.now
    assert "410" in state["disabled_reason"]
    for _ in range(24):
        clock.advance(3600)
        assert await attempt(outbox, dispatcher) == []
    assert len(receiver.deliveries) == 1
    [waiting] = await outbox.list_alerts(state="pending")
    assert "410" in waiting["last_error"]
    [listed] = await outbox.list_sinks()
    assert listed["alerts"] == {"pending": 1}

    assert await outbox.enable_sink("hook")
    assert await attempt(outbox, dispatcher) == ["delivered"]
    assert receiver.ids() == ["msg_1", "msg_1"]


async def test_a_sink_is_disabled_once_however_many_deliveries_hear_410(
    tmp_path, clock: FakeClock, session, receiver: Receiver
) -> None:
    """Four deliveries in flight all answered 410: one ``sink.disabled`` event (one place, one
    count), the other three only held; all four alerts wait, pending, for the sink."""
    store = await Store.open(f"sqlite:///{tmp_path / 'g.db'}", clock, exclusive=True)
    try:
        await enqueue(store, ("hook",), 4)
        receiver.answer(*([410] * 4))
        dispatcher = Dispatcher(store, {"hook": sink(session, receiver.url)}, "n1", per_sink=4)
        with capture_logs() as logs:
            assert await dispatcher.drain() == {"disabled": 4}
        assert len(receiver.deliveries) == 4
        events = [e["event"] for e in logs]
        assert events.count("sink.disabled") == 1
        assert events.count("alert.held") == 3
        assert await count_rows(store, "alerts", state="pending") == 4
    finally:
        await store.close()


async def test_an_alert_for_an_unconfigured_sink_is_dead_not_lost(outbox: Store) -> None:
    dispatcher = Dispatcher(outbox, {}, "n1")
    assert await attempt(outbox, dispatcher) == ["dead"]
    [dead] = await outbox.list_alerts(state="dead")
    assert "not configured" in dead["last_error"]


# --- Standard Webhooks, attempt by attempt -------------------------------------------------------

OLD_SECRET = "whsec_b2xkLXNlY3JldC1iZWluZy1yb3RhdGVkLW91dA=="


def ticking_wall_clock(step: float = 1.0):
    """Real time, a step further on each call: attempts in one test second get fresh stamps."""
    calls = itertools.count()
    return lambda: time.time() + step * next(calls)


async def test_during_a_rotation_every_secret_signs(session, receiver: Receiver) -> None:
    """Two secrets give two space-separated v1 signatures; each verifies on its own."""
    receiver.secrets = (SECRET, OLD_SECRET)
    await sink(session, receiver.url, secret=[OLD_SECRET, SECRET]).deliver(ALERT)
    [delivery] = receiver.deliveries
    signatures = delivery.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    for secret in (SECRET, OLD_SECRET):
        assert Webhook(secret).verify(delivery.body, delivery.headers) == ALERT.payload
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_c29tZW9uZS1lbHNlcy1zZWNyZXQtYnl0ZXM=").verify(
            delivery.body, delivery.headers
        )


async def test_500_500_204_is_three_attempts_with_one_id_and_fresh_timestamps(
    outbox: Store, clock: FakeClock, session, receiver: Receiver
) -> None:
    receiver.secrets = (SECRET,)
    receiver.answer(500, 500)
    hook = sink(session, receiver.url, secret=SECRET)
    hook.wall_clock = ticking_wall_clock()
    dispatcher = Dispatcher(outbox, {"hook": hook}, "n1", jitter=0)
    outcomes = await attempt(outbox, dispatcher)
    clock.advance(RETRY_SCHEDULE[0])
    outcomes += await attempt(outbox, dispatcher)
    clock.advance(RETRY_SCHEDULE[1])
    outcomes += await attempt(outbox, dispatcher)
    assert outcomes == ["retry", "retry", "delivered"]
    assert receiver.ids() == ["msg_1"] * 3
    stamps = [int(d.headers["webhook-timestamp"]) for d in receiver.deliveries]
    assert stamps[0] < stamps[1] < stamps[2]
    assert len({d.headers["webhook-signature"] for d in receiver.deliveries}) == 3
    clock.advance(86400)
    assert await attempt(outbox, dispatcher) == []


async def test_a_redirect_is_a_failure_with_a_retry_and_the_target_never_hears(
    outbox: Store, clock: FakeClock, session, receiver: Receiver, make_receiver: ReceiverFactory
) -> None:
    target = await make_receiver()
    receiver.answer((302, {"Location": target.url}))
    dispatcher = Dispatcher(outbox, {"hook": sink(session, receiver.url)}, "n1", jitter=0)
    assert await attempt(outbox, dispatcher) == ["retry"]
    assert target.requests == []  # no request of any method
    [pending] = await outbox.list_alerts(state="pending")
    assert pending["next_attempt_at"] == clock.now + timedelta(seconds=RETRY_SCHEDULE[0])
    assert "HTTP 302" in pending["last_error"]


async def test_retry_after_as_an_http_date_is_honoured_and_capped(
    outbox: Store, clock: FakeClock, session, receiver: Receiver
) -> None:
    """503 with an HTTP-date 60 s ahead waits at least ~60 s; an absurd wait is capped."""
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    receiver.answer((503, {"Retry-After": soon}), (429, {"Retry-After": "999999"}))
    dispatcher = Dispatcher(
        outbox, {"hook": sink(session, receiver.url)}, "n1", jitter=0, retry_after_max=3600
    )
    assert await attempt(outbox, dispatcher) == ["retry"]
    [pending] = await outbox.list_alerts(state="pending")
    waited = (pending["next_attempt_at"] - clock.now).total_seconds()
    assert 58 <= waited <= 60
    clock.advance(waited)
    assert await attempt(outbox, dispatcher) == ["retry"]
    [pending] = await outbox.list_alerts(state="pending")
    assert (pending["next_attempt_at"] - clock.now).total_seconds() == 3600


async def test_a_receiver_that_never_answers_ends_dead_then_replay_delivers(
    outbox: Store, clock: FakeClock, session, receiver: Receiver
) -> None:
    """Every attempt ends at the sink's timeout; the schedule runs out; replay delivers."""
    receiver.answer(*(["hang"] * (len(RETRY_SCHEDULE) + 1)))
    hook = sink(session, receiver.url, timeout="200ms")
    dispatcher = Dispatcher(outbox, {"hook": hook}, "n1", jitter=0)
    outcomes = []
    async with asyncio.timeout(10):
        for delay in (0, *RETRY_SCHEDULE):
            clock.advance(delay)
            started = time.monotonic()
            outcomes += await attempt(outbox, dispatcher)
            assert time.monotonic() - started < 1.0
    assert outcomes == ["retry"] * len(RETRY_SCHEDULE) + ["dead"]
    [dead] = await outbox.list_alerts(state="dead")
    assert dead["last_error"] == "no answer within 0.2s"
    receiver.release.set()
    assert await outbox.replay_alert("msg_1")
    assert await attempt(outbox, dispatcher) == ["delivered"]
    [delivered] = await outbox.list_alerts(state="delivered")
    assert delivered["id"] == "msg_1"


# --- lanes: one sink never delays another --------------------------------------------------------


async def enqueue(store: Store, sinks: tuple[str, ...], count: int) -> None:
    """Record one poll of a new feed with ``count`` new stories, each alerting every sink."""
    feed_url = f"http://a.example/{uuid.uuid4().hex}"
    await store.sync_feeds([FeedSchedule(feed_url, None, 600)])
    feeds = await store.claim_due_feeds("n1", 60, 100, due_before=store.now() + timedelta(days=1))
    [feed] = [f for f in feeds if f.url == feed_url]
    writes = []
    for i in range(count):
        entry = ParsedEntry(f"g{i}", f"https://a.example/{i}", "t", "", "", None)
        change = EntryChange(ChangeKind.NEW, f"g{i}", entry, entry.link, f"h{i}", None, True)
        drafts = tuple(
            AlertDraft(f"msg_{name}_{i}", name, "rule", AlertKind.MATCHED, ALERT.payload)
            for name in sinks
        )
        writes.append(EntryWrite(change, (), drafts))
    now = store.now()
    await store.record_update(
        FeedUpdateIntent(feed.id, now, now, PollStatus.OK, entries=tuple(writes)), "n1"
    )


@pytest.fixture
async def two_sink_outbox(tmp_path, clock: FakeClock) -> AsyncIterator[Store]:
    """A store with 10 pending alerts for each of the sinks 'slow' and 'fast'."""
    store = await Store.open(f"sqlite:///{tmp_path / 'lanes.db'}", clock, exclusive=True)
    await enqueue(store, ("slow", "fast"), 10)
    yield store
    await store.close()


async def test_a_hung_sink_never_delays_another_in_a_once_pass(
    two_sink_outbox: Store, session, receiver: Receiver, make_receiver: ReceiverFactory
) -> None:
    hung = await make_receiver()
    hung.answer(*(["hang"] * 10))
    sinks = {
        "slow": sink(session, hung.url, timeout="1s"),
        "fast": sink(session, receiver.url),
    }
    dispatcher = Dispatcher(two_sink_outbox, sinks, "n1")
    started = time.monotonic()
    try:
        async with asyncio.timeout(20):
            drained = asyncio.create_task(dispatcher.drain())
            while len(receiver.deliveries) < 10:
                await asyncio.sleep(0.01)
            fast_done = time.monotonic() - started
            outcomes = await drained
    finally:
        hung.release.set()
    assert fast_done < 0.9  # before the hung sink's first attempts even time out
    assert outcomes == {"delivered": 10, "retry": 10}


async def test_a_hung_sink_never_delays_another_in_the_daemon_lanes(
    two_sink_outbox: Store, session, receiver: Receiver, make_receiver: ReceiverFactory
) -> None:
    """The daemon's lanes: the hung sink holds its 4 slots; the other delivers all 10."""
    hung = await make_receiver()
    hung.answer(*(["hang"] * 10))
    sinks = {
        "slow": sink(session, hung.url, timeout="30s"),
        "fast": sink(session, receiver.url),
    }
    dispatcher = Dispatcher(two_sink_outbox, sinks, "n1", per_sink=4)
    try:
        async with asyncio.timeout(10):
            dispatcher.pump()
            while await count_rows(two_sink_outbox, "alerts", sink="fast", state="delivered") < 10:
                await asyncio.sleep(0.01)
            assert len(receiver.deliveries) == 10
            assert len(hung.deliveries) == 4  # its lane is full; nothing else is held
    finally:
        dispatcher.stop()
        hung.release.set()
        async with asyncio.timeout(10):
            await asyncio.gather(*dispatcher.tasks, return_exceptions=True)


async def test_a_hung_sink_with_a_wide_lane_leaves_the_others_their_connections(
    tmp_path, write_config, receiver: Receiver, make_receiver: ReceiverFactory
) -> None:
    """The daemon as it runs (its own HTTP session and lanes): a hung sink with concurrency 16
    holds 16 connections, and a healthy sink still delivers all its 20 alerts long before the
    hung requests could time out."""
    hung = await make_receiver()
    hung.answer(*(["hang"] * 20))
    hook = f"type: webhook, secret: {WEBHOOK_SECRET}"
    config = write_config(
        f"state: sqlite:///{tmp_path / 'd.db'}\n"
        "sinks:\n"
        f"  slow: {{{hook}, url: '{hung.url}', concurrency: 16, timeout: 60s}}\n"
        f"  fast: {{{hook}, url: '{receiver.url}'}}\n"
    )
    async with Daemon(load_config(config), parse_pool=None) as daemon:
        store = daemon.store
        try:
            async with asyncio.timeout(20):  # the hung requests would end at 60 s
                await enqueue(store, ("slow",), 20)
                daemon.dispatcher.pump()
                while len(hung.deliveries) < 16:  # the hung sink holds all it may
                    await asyncio.sleep(0.01)
                await enqueue(store, ("fast",), 20)
                while await count_rows(store, "alerts", sink="fast", state="delivered") < 20:
                    daemon.dispatcher.pump()  # as the daemon's deliver tick does
                    await asyncio.sleep(0.05)
            assert len(receiver.deliveries) == 20
            assert len(hung.deliveries) == 16  # its lane is full; it took nothing more
        finally:
            daemon.dispatcher.stop()
            hung.release.set()
            async with asyncio.timeout(10):
                await asyncio.gather(*daemon.dispatcher.tasks, return_exceptions=True)


def assert_paced(deliveries: list[Delivery], began: float, rate: float) -> None:
    """Message k left no earlier than its slot, ``k / rate`` after ``began``.

    A lower bound only, on this process's monotonic clock (the receiver records arrival on the
    same clock): a busy machine can make messages late, never early.
    """
    for k, delivery in enumerate(deliveries):
        assert delivery.at - began >= k / rate - 0.001, f"message {k} came before its slot"


async def test_a_rate_limit_spaces_one_sinks_messages(
    two_sink_outbox: Store, session, receiver: Receiver, make_receiver: ReceiverFactory
) -> None:
    """``rate: 10/s`` sends 'fast' one message per 100 ms in a once pass; 'slow' is not paced."""
    other = await make_receiver()
    sinks = {"fast": sink(session, receiver.url), "slow": sink(session, other.url)}
    policies = {"fast": SinkPolicy(concurrency=4, rate=10.0)}
    dispatcher = Dispatcher(two_sink_outbox, sinks, "n1", policies=policies)
    began = time.monotonic()
    async with asyncio.timeout(20):
        outcomes = await dispatcher.drain()
    assert outcomes == {"delivered": 20}
    assert len(receiver.deliveries) == 10
    assert_paced(receiver.deliveries, began, 10.0)
    assert len(other.deliveries) == 10


async def test_the_daemon_lanes_pace_a_rated_sink_one_claim_per_slot(
    two_sink_outbox: Store, session, receiver: Receiver, make_receiver: ReceiverFactory
) -> None:
    """The daemon's pacing (lanes fed by ``pump``, a timer per paced lane): 'fast' at 20/s gets
    its 10 messages no faster than its slots, each claimed alone; 'slow' is not held back."""
    other = await make_receiver()
    sinks = {"fast": sink(session, receiver.url), "slow": sink(session, other.url)}
    policies = {"fast": SinkPolicy(concurrency=4, rate=20.0)}
    dispatcher = Dispatcher(two_sink_outbox, sinks, "n1", policies=policies)
    began = time.monotonic()
    try:
        async with asyncio.timeout(20):
            dispatcher.pump()
            while await count_rows(two_sink_outbox, "alerts", state="delivered") < 20:
                await asyncio.sleep(0.01)
    finally:
        dispatcher.stop()
        async with asyncio.timeout(10):
            await asyncio.gather(*dispatcher.tasks, return_exceptions=True)
    assert sorted(receiver.ids()) == sorted(f"msg_fast_{i}" for i in range(10))
    assert_paced(receiver.deliveries, began, 20.0)
    assert len(other.deliveries) == 10
    # 'slow' has no pace: its lane never waited for the paced one's slots.
    assert max(d.at for d in other.deliveries) < receiver.deliveries[-1].at


# --- jitter and routing ----------------------------------------------------------------------


async def test_retry_delays_are_jittered_within_their_bounds(
    tmp_path, clock: FakeClock, session, receiver: Receiver
) -> None:
    """With ``jitter: 0.25`` each retry waits its scheduled delay times 0.75 to 1.25, and the
    waits of alerts that failed together spread out instead of retrying in one burst."""
    store = await Store.open(f"sqlite:///{tmp_path / 'j.db'}", clock, exclusive=True)
    try:
        await enqueue(store, ("hook",), 20)
        receiver.answer(*([500] * 40))
        policies = {"hook": SinkPolicy(concurrency=4, retries=(100.0, 1000.0), jitter=0.25)}
        dispatcher = Dispatcher(
            store,
            {"hook": sink(session, receiver.url)},
            "n1",
            policies=policies,
            rng=random.Random(6),
        )
        for step, delay in enumerate((100.0, 1000.0)):
            started = clock.now
            assert await dispatcher.drain() == {"retry": 20}
            waits = [
                (a["next_attempt_at"] - started).total_seconds()
                for a in await store.list_alerts(state="pending")
            ]
            assert len(waits) == 20
            assert all(0.75 * delay <= w <= 1.25 * delay for w in waits), (step, waits)
            assert max(waits) - min(waits) > 0.25 * delay  # spread, not one burst
            assert len(set(waits)) == 20
            clock.advance(1.25 * delay)
        assert len(receiver.deliveries) == 40
    finally:
        await store.close()


async def test_a_rule_naming_sinks_reaches_only_those_and_one_naming_none_reaches_all(
    tmp_path, write_config, feeds, seed_feed: bytes, clock: FakeClock, make_receiver
) -> None:
    """``sinks: [a]`` routes a rule's alerts to 'a' alone; a rule without ``sinks:`` goes to
    every sink."""
    a, b = await make_receiver(), await make_receiver()
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(
        state=tmp_path / "r.db",
        defaults={"backfill": "all"},
        feeds=[url],
        rules=[rule("belarus", "Belarus*", sinks=["a"]), rule("sanksi", "sanksi")],
        sinks={"a": webhook(a.url), "b": webhook(b.url)},
    )
    async with asyncio.timeout(30):
        summary = await run_once(config, clock)
    assert summary.deliveries == {"delivered": 3}

    def rules(receiver: Receiver) -> list[str]:
        return sorted(d.json["data"]["rule"]["id"] for d in receiver.deliveries)

    assert rules(a) == ["belarus", "sanksi"]
    assert rules(b) == ["sanksi"]
