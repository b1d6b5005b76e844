"""The daemon's HTTP endpoint: probes and Prometheus metrics, scraped over 127.0.0.1 from a real
daemon (in this process, and as `newsmon run` in a subprocess)."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from monitor.app.daemon import Daemon
from monitor.app.metrics import Metrics
from monitor.base.errors import ConfigError
from monitor.base.listen import split_listen
from monitor.config import load_config
from tests.configs import rule, webhook
from tests.conftest import FeedServer, Receiver
from tests.test_cli import NEWSMON, newsmon, read_log


def metrics_config(write_config: Any, state: str, listen: str, feeds: list[str], hook: str) -> Path:
    """The config of these tests: polled every second, failing after one failure."""
    return write_config(  # type: ignore[no-any-return]
        state=state,
        http={"listen": listen},
        defaults={"interval": "1s", "backfill": "all", "failing_after": 1},
        feeds=feeds,
        rules=[rule("belarus", "Belarus*")],
        sinks={"hook": webhook(hook)},
    )


class Scrape:
    """One /metrics answer, parsed by prometheus_client's own parser."""

    def __init__(self, text: str) -> None:
        self.samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def get(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, tuple(sorted(labels.items()))))


async def scrape(session: aiohttp.ClientSession, base: str) -> Scrape:
    async with session.get(f"{base}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return Scrape(await response.text())


async def status(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


async def scrape_until(
    session: aiohttp.ClientSession, base: str, done: Callable[[Scrape], bool], timeout: float = 30
) -> Scrape:
    """Scrape until ``done`` holds (bounded): the values change as the daemon works."""
    async with asyncio.timeout(timeout):
        while not done(result := await scrape(session, base)):
            await asyncio.sleep(0.1)
    return result


async def status_until(
    session: aiohttp.ClientSession, url: str, wanted: int, timeout: float = 15
) -> str:
    async with asyncio.timeout(timeout):
        while (answer := await status(session, url))[0] != wanted:
            await asyncio.sleep(0.05)
    return answer[1]


@asynccontextmanager
async def running(config: Path) -> AsyncIterator[tuple[Daemon, asyncio.Event]]:
    """A daemon running in this process, and its stop event; it is listening when this yields."""
    stop = asyncio.Event()
    async with Daemon(load_config(config), parse_pool=None, tick=0.2, drain_timeout=20) as daemon:
        assert daemon.readiness == "starting"
        task = asyncio.create_task(daemon.run(stop))
        try:
            async with asyncio.timeout(15):
                while daemon.endpoint is None or not daemon.endpoint.port:
                    await asyncio.sleep(0.01)
            yield daemon, stop
        finally:
            stop.set()
            async with asyncio.timeout(30):
                await task


async def test_probes_and_metrics_follow_feeds_and_deliveries(
    write_config, state: str, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    """A failing and a disabled feed show in the feed-state gauge and the polls counter; a
    delivered alert counts as created and delivered; /readyz and /healthz answer 200."""
    good = feeds.set("seed.xml", seed_feed)
    broken = feeds.set("broken.xml", b"", status=404)
    gone = feeds.set("gone.xml", b"", status=410)
    config = metrics_config(write_config, state, "127.0.0.1:0", [good, broken, gone], receiver.url)
    async with running(config) as (daemon, _), aiohttp.ClientSession() as session:
        assert daemon.endpoint is not None
        base = daemon.endpoint.url
        assert await status_until(session, f"{base}/readyz", 200) == "ready\n"
        assert await status(session, f"{base}/healthz") == (200, "ok\n")

        delivered = {"sink": "hook", "outcome": "delivered"}
        metrics = await scrape_until(
            session,
            base,
            # The gauges are read from the store at most every 2 s, the counters live: wait
            # for both to have seen every feed's poll.
            lambda m: (
                m.get("newsmon_feeds", state="failing") == 1
                and m.get("newsmon_feeds", state="disabled") == 1
                and m.get("newsmon_feeds", state="ok") == 1
                and m.get("newsmon_deliveries_total", **delivered) == 1
            ),
        )
    assert len(receiver.deliveries) == 1
    assert metrics.get("newsmon_feeds", state="never_polled") == 0
    assert (metrics.get("newsmon_feed_polls_total", status="error") or 0) >= 1
    assert metrics.get("newsmon_feed_polls_total", status="gone") == 1  # then it is disabled
    assert (metrics.get("newsmon_feed_polls_total", status="ok") or 0) >= 1
    assert (metrics.get("newsmon_poll_duration_seconds_count") or 0) >= 3
    assert metrics.get("newsmon_entries_total", change="new") == 3
    assert metrics.get("newsmon_alerts_created_total") == 1
    assert metrics.get("newsmon_deliveries_total", sink="hook", outcome="retry") == 0
    assert metrics.get("newsmon_delivery_duration_seconds_count", sink="hook") == 1
    assert metrics.get("newsmon_outbox_alerts", sink="hook", state="pending") == 0
    assert metrics.get("newsmon_outbox_alerts", sink="hook", state="dead") == 0
    assert metrics.get("newsmon_build_info", version=__version__) == 1


async def test_readyz_is_503_while_draining_on_shutdown(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    """From the stop signal on, /readyz says "draining" (and the clock has stopped) while a
    delivery still runs; the daemon then finishes it and exits."""
    url = feeds.set("seed.xml", seed_feed)
    state = f"sqlite:///{tmp_path / 's.db'}"
    config = metrics_config(write_config, state, "127.0.0.1:0", [url], receiver.url)
    receiver.answer("hang")
    async with running(config) as (daemon, stop), aiohttp.ClientSession() as session:
        assert daemon.endpoint is not None
        base = daemon.endpoint.url
        async with asyncio.timeout(15):
            while not receiver.deliveries:
                await asyncio.sleep(0.05)
        assert await status(session, f"{base}/readyz") == (200, "ready\n")
        stop.set()
        assert await status_until(session, f"{base}/readyz", 503) == "draining\n"
        assert await status(session, f"{base}/healthz") == (503, "stopped\n")
        receiver.release.set()
    assert daemon.readiness == "draining"


def test_each_daemon_has_its_own_registry() -> None:
    """Counters of two daemons in one process stay apart, and nothing goes to the global one."""
    one, two = Metrics(), Metrics()
    one.config_reloaded(ok=False)
    assert one.registry.get_sample_value("newsmon_config_reloads_total", {"result": "rejected"})
    assert (
        two.registry.get_sample_value("newsmon_config_reloads_total", {"result": "rejected"}) == 0
    )
    assert prometheus_client.REGISTRY.get_sample_value("newsmon_config_reloads_total") is None


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("[::1]:9464", ("::1", 9464)),
        ("localhost:9464", ("localhost", 9464)),
        ("metrics.example.org:80", ("metrics.example.org", 80)),
    ],
)
def test_listen_addresses(text: str, address: tuple[str, int]) -> None:
    assert split_listen(text) == address


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("'127.0.0.1'", "'127.0.0.1' is not host:port (examples: 127.0.0.1:9464"),
        ("9464", "9464 is a port without a host; write '127.0.0.1:9464'"),
        ("':9464'", "':9464' has no host: 127.0.0.1:9464 keeps it on this machine"),
        ("127.0.0.1:65536", "'127.0.0.1:65536': the port must be a number from 0 to 65535"),
        ("'localhost:http'", "'localhost:http': the port must be a number"),
        ("'::1:9464'", "'::1:9464': put an IPv6 address in brackets, as in [::1]:9464"),
        ("'[fe80::x]:1'", "'[fe80::x]:1': 'fe80::x' in brackets is not an IPv6 address"),
        ("'300.1.1.1:1'", "'300.1.1.1:1': '300.1.1.1' is neither an IP address nor a host name"),
        ("'my_host:1'", "'my_host:1': 'my_host' is neither an IP address nor a host name"),
    ],
)
def test_a_broken_listen_address_is_a_config_error_with_its_position(
    write_config, value: str, message: str
) -> None:
    path = write_config(f"feeds: []\nhttp:\n  listen: {value}\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    [problem] = refused.value.problems
    assert str(problem).startswith(f"{path}:3:11: http.listen: {message}"), problem


async def test_check_reports_http_problems_and_an_empty_http_key_is_off(write_config) -> None:
    path = write_config("http:\n  listen: 127.0.0.1\n  listn: 127.0.0.1:9464\n")
    code, out, _ = await newsmon("check", "--config", str(path))
    assert code == 1
    assert out.splitlines() == [
        f"{path}:2:11: http.listen: '127.0.0.1' is not host:port "
        "(examples: 127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464)",
        f"{path}:3:3: unknown key 'http.listn' (did you mean 'listen'?)",
    ]
    assert load_config(write_config("http:\n")).settings.http.address is None


async def test_run_refuses_an_address_in_use(write_config, tmp_path: Path) -> None:
    """Another process on the port: `newsmon run` says so and exits 1, it does not run blind;
    `run --once` serves no endpoint, so it runs."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(
            f"state: sqlite:///{tmp_path / 's.db'}\nhttp:\n  listen: 127.0.0.1:{port}\n"
        )
        code, _, err = await newsmon("run", "--config", str(config))
        assert code == 1
        assert f"newsmon: cannot listen on 127.0.0.1:{port} (http.listen):" in err
        code, _, err = await newsmon("run", "--once", "--config", str(config))
        assert code == 0, err


@pytest.mark.slow
async def test_newsmon_run_serves_the_endpoint_and_counts_reloads(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    """The real command: it logs where it listens; a rejected and an accepted reload are counted;
    a new `http.listen` is reported as needing a restart while the old address keeps serving;
    SIGTERM exits 0."""
    url = feeds.set("seed.xml", seed_feed)
    state = f"sqlite:///{tmp_path / 's.db'}"
    config = metrics_config(write_config, state, "127.0.0.1:0", [url], receiver.url)
    proc = await asyncio.create_subprocess_exec(
        *NEWSMON, "run", "--config", str(config), stderr=asyncio.subprocess.PIPE
    )
    events: list[dict] = []
    assert proc.stderr is not None
    reader = asyncio.create_task(read_log(proc.stderr, events))

    async def logged(name: str) -> dict:
        async with asyncio.timeout(15):
            while not (found := [e for e in events if e["event"] == name]):
                await asyncio.sleep(0.05)
        return found[-1]

    try:
        base = (await logged("http.listening"))["url"]
        async with aiohttp.ClientSession() as session:
            await status_until(session, f"{base}/readyz", 200)
            assert await status(session, f"{base}/healthz") == (200, "ok\n")
            metrics = await scrape_until(
                session,
                base,
                lambda m: m.get("newsmon_deliveries_total", sink="hook", outcome="delivered") == 1,
            )
            assert metrics.get("newsmon_build_info", version=__version__) == 1

            config.write_text("feeds: [oops\n")
            proc.send_signal(signal.SIGHUP)
            await logged("config.rejected")
            metrics_config(write_config, state, "127.0.0.1:9", [url], receiver.url)
            proc.send_signal(signal.SIGHUP)
            await logged("config.reloaded")
            restart = await logged("config.restart_needed")
            assert restart["setting"] == "http.listen"
            metrics = await scrape(session, base)
            assert metrics.get("newsmon_config_reloads_total", result="rejected") == 1
            assert metrics.get("newsmon_config_reloads_total", result="ok") == 1
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await reader
