"""The dashboard's settings: a network address needs a token, actions need one too, and the
token is a secret like the sinks' (no browser needed)."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import newsmon

TOKEN = "tok-0123456789abcdef-web"


async def test_newsmon_web_refuses_a_network_address_without_a_token(
    write_config, tmp_path: Path
) -> None:
    from tests.test_cli import newsmon

    config = write_config(feeds=[], sinks={"log": {"type": "log"}})
    code, _, err = await newsmon("web", "--config", str(config), "--listen", "0.0.0.0:0")
    assert code == 2
    assert "not a loopback address" in err
    assert "http.token" in err
    bad = write_config(feeds=[], sinks={"log": {"type": "log"}}, http={"listen": "0.0.0.0:0"})
    code, out, err = await newsmon("check", "--config", str(bad))
    assert code == 1
    assert f"{bad}:" in out + err
    assert "needs http.token" in out + err


async def test_actions_need_a_token_and_the_token_is_a_secret(write_config, tmp_path: Path) -> None:
    config = write_config(
        feeds=[], sinks={"log": {"type": "log"}}, http={"listen": "127.0.0.1:0", "actions": True}
    )
    code, out, err = await newsmon("check", "--config", str(config))
    assert code == 1
    assert "http.actions needs http.token" in out + err
    config = write_config(
        feeds=[], sinks={"log": {"type": "log"}}, http={"listen": "0.0.0.0:0", "token": TOKEN}
    )
    code, out, err = await newsmon("check", "--config", str(config))
    assert code == 0, out + err
    config.chmod(0o644)
    code, out, err = await newsmon("check", "--config", str(config))
    assert code == 1
    assert "http.token is written in this file, which others can read" in out + err
    assert TOKEN not in out + err


async def test_the_rule_lab_says_when_it_stopped_early(
    write_config, feeds, receiver, seed_feed: bytes, clock, monkeypatch, tmp_path: Path
) -> None:
    """A scan that passes its time limit stops after the chunk it was in and says so."""
    import aiohttp

    from monitor.app.web import Dashboard, lab, serve
    from monitor.config import load_config
    from monitor.store import Store
    from tests.configs import rule, webhook
    from tests.conftest import run_once

    feeds.set("seed.xml", seed_feed)
    config = write_config(
        state=f"sqlite:///{tmp_path / 'lab.db'}",
        defaults={"backfill": "all"},
        feeds=[{"url": feeds.url("seed.xml"), "language": "id"}],
        rules=[rule("sanksi", "sanksi")],
        sinks={"hook": webhook(receiver.url)},
    )
    await run_once(config, clock)
    loaded = load_config(config)
    store = await Store.open(loaded.settings.state, clock)
    runner, port = await serve(Dashboard.from_config(store, lambda: loaded), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/lab?q=Belarus*&window=30d"
            async with http.get(url) as r:
                page = await r.text()
            assert "1 of 3 stored articles matched" in page
            assert "stopped early" not in page
            monkeypatch.setattr(lab, "TIME_LIMIT", -1.0)
            monkeypatch.setattr(lab, "CHUNK", 2)
            async with http.get(url) as r:
                page = await r.text()
            assert "of 2 stored articles matched" in page
            assert "stopped early: the time limit (-1 s) passed" in page
    finally:
        await runner.cleanup()
        await store.close()


async def test_no_page_shows_a_secret(
    write_config, feeds, receiver, seed_feed: bytes, clock, tmp_path: Path
) -> None:
    """An error that carried a secret (the webhook's signing secret, a credential header, the
    dashboard's token) shows *** on every page that shows errors."""
    import aiohttp
    import sqlalchemy as sa

    from monitor.app.web import Dashboard, serve
    from monitor.config import load_config
    from monitor.store import Store
    from monitor.store.schema import alerts, delivery_attempts
    from tests.configs import WEBHOOK_SECRET, rule, webhook
    from tests.conftest import run_once

    feeds.set("seed.xml", seed_feed)
    header = "Bearer hdr-secret-0123456789"
    config = write_config(
        state=f"sqlite:///{tmp_path / 'redact.db'}",
        defaults={"backfill": "all"},
        feeds=[{"url": feeds.url("seed.xml"), "language": "id"}],
        rules=[rule("sanksi", "sanksi")],
        sinks={"hook": webhook(receiver.url, headers={"Authorization": header})},
        http={"listen": "127.0.0.1:0", "token": TOKEN},
    )
    await run_once(config, clock)
    loaded = load_config(config)
    store = await Store.open(loaded.settings.state, clock)
    leak = f"oops {WEBHOOK_SECRET} {header} {TOKEN}"
    async with store.engine.begin() as conn:
        await conn.execute(delivery_attempts.update().values(answer=leak))
        await conn.execute(alerts.update().values(last_error=leak))
        [alert_id] = (await conn.execute(sa.select(alerts.c.id))).scalars()
    runner, port = await serve(Dashboard.from_config(store, lambda: loaded), "127.0.0.1", 0)
    try:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=bearer) as http:
            for path in ("/", "/feeds/1", "/alerts", f"/alerts/{alert_id}"):
                async with http.get(f"http://127.0.0.1:{port}{path}") as r:
                    page = await r.text()
                assert r.status == 200
                for secret in (WEBHOOK_SECRET, "hdr-secret-0123456789", TOKEN):
                    assert secret not in page, (path, secret)
            assert "oops *** *** ***" in page  # the alert page shows the answer
    finally:
        await runner.cleanup()
        await store.close()


async def test_newsmon_web_serves_the_store_a_run_once_filled(
    write_config, feeds, receiver, seed_feed: bytes, tmp_path: Path
) -> None:
    """``run --once`` fills the store, ``newsmon web`` shows it (no polling: the feed is asked
    once, by the run) and stops on SIGTERM with exit 0."""
    import asyncio
    import os
    import signal

    import aiohttp

    from tests.configs import rule, webhook
    from tests.test_cli import NEWSMON

    feeds.set("seed.xml", seed_feed)
    config = write_config(
        state=f"sqlite:///{tmp_path / 'web.db'}",
        defaults={"backfill": "all"},
        feeds=[{"url": feeds.url("seed.xml"), "name": "Tagar", "language": "id"}],
        rules=[rule("sanksi", "sanksi")],
        sinks={"hook": webhook(receiver.url)},
    )
    code, _, err = await newsmon("run", "--once", "--config", str(config))
    assert code == 0, err
    proc = await asyncio.create_subprocess_exec(
        *NEWSMON,
        "web",
        "--config",
        str(config),
        "--listen",
        "127.0.0.1:0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            line = (await proc.stdout.readline()).decode()
        assert line.startswith("newsmon web: serving http://127.0.0.1:"), line
        base = line.split()[3].rstrip("/")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/alerts") as r:
                assert r.status == 200
                assert "Belarusia dan Rusia" in await r.text()
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 404  # the daemon's probes are the daemon's
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await proc.wait() == 0
    assert len(feeds.hits("seed.xml")) == 1
