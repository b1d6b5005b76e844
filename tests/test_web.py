"""The dashboard in a real browser (Debian's Chromium, headless), over a store filled by real
``run --once`` passes against loopback feeds and receivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.app.web import Dashboard, serve
from monitor.config import load_config
from monitor.store import Store
from tests.browser import browser_page, need_browser
from tests.configs import rule, webhook
from tests.conftest import FakeClock, FeedServer, Receiver, run_once

TOKEN = "tok-0123456789abcdef-web"
RULES = [rule("belarus", "Belarus*", name="Belarus"), rule("sanksi", "sanksi")]

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _browser() -> None:
    need_browser()


Serve = Callable[..., Any]


@pytest.fixture
async def dashboard(clock: FakeClock) -> AsyncIterator[Serve]:
    """``await dashboard(config)``: the dashboard over that config's store on 127.0.0.1, on
    the test's clock."""
    opened: list[Any] = []

    async def start(config: Path) -> str:
        loaded = load_config(config)
        store = await Store.open(loaded.settings.state, clock)
        runner, port = await serve(Dashboard.from_config(store, lambda: loaded), "127.0.0.1", 0)
        opened.append((runner, store))
        return f"http://127.0.0.1:{port}"

    yield start
    for runner, store in opened:
        await runner.cleanup()
        await store.close()


def seed_config(
    write_config, state: str, feeds: FeedServer, receiver: Receiver, **http: Any
) -> Path:
    path: Path = write_config(
        state=state,
        defaults={"backfill": "all"},
        feeds=[
            {"url": feeds.url("seed.xml"), "name": "Tagar", "language": "id", "tags": ["world"]}
        ],
        rules=RULES,
        sinks={"hook": webhook(receiver.url)},
        **({"http": http} if http else {}),
    )
    return path


async def test_the_pages_show_what_a_run_once_did(
    write_config,
    state: str,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    dashboard: Serve,
    tmp_path: Path,
) -> None:
    """After one pass over the seed feed: the overview counts the feed and the polls, the
    feed page lists its poll and entries, the alert page marks sanksi-sanksi and shows the
    delivery, the rule page its match; one screenshot per page."""
    feeds.set("seed.xml", seed_feed)
    config = seed_config(write_config, state, feeds, receiver)
    await run_once(config, clock)
    origin = await dashboard(config)
    async with browser_page(origin) as (page, watch):
        response = await page.goto(origin + "/")
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert await page.locator(".state-ok .n").inner_text() == "1"
        assert "hook" in await page.locator("#sinks").inner_text()
        assert await page.locator("svg.chart rect.bar").count() >= 24
        await page.screenshot(path=tmp_path / "overview.png", full_page=True)

        host = feeds.url("seed.xml").split("/")[2]
        for query, shown in [
            ("tag=world", 1),
            ("tag=worl", 0),
            (f"host={host}", 1),
            ("host=127.0.0.2", 0),
            ("state=ok", 1),
            ("state=failing", 0),
            ("failing=1", 0),
        ]:
            await page.goto(f"{origin}/feeds?{query}")
            assert await page.locator("#feeds tbody a").count() == shown, query
        await page.click("text=Feeds")
        await page.click("#feeds >> text=Tagar")
        polls = await page.locator("#polls tbody tr").all_inner_texts()
        assert len(polls) == 1
        assert "ok" in polls[0]
        assert "3" in polls[0].split("\t")
        entries = await page.locator("#entries li").all_inner_texts()
        assert any("Belarusia dan Rusia" in e for e in entries)
        assert "world" in await page.locator("dl.facts").inner_text()
        await page.screenshot(path=tmp_path / "feed.png", full_page=True)

        await page.click("text=Alerts")
        assert await page.locator("#alerts tbody tr").count() == 2
        await page.screenshot(path=tmp_path / "alerts.png", full_page=True)
        await page.click("#alerts tr:has-text('sanksi') >> text=Belarusia")
        marked = await page.locator("#snippets mark").all_inner_texts()
        assert "sanksi-sanksi" in marked
        attempts = await page.locator("#attempts tbody tr").all_inner_texts()
        assert len(attempts) == 1
        assert "delivered" in attempts[0]
        await page.screenshot(path=tmp_path / "alert.png", full_page=True)

        await page.click("text=Rules")
        assert await page.locator("#rules tbody tr").count() == 2
        await page.screenshot(path=tmp_path / "rules.png", full_page=True)
        await page.click("#rules >> text=sanksi")
        assert "1 hits" in await page.locator("#tally").inner_text()
        assert "sanksi-sanksi" in await page.locator("#matches mark").all_inner_texts()
        await page.screenshot(path=tmp_path / "rule.png", full_page=True)
    assert watch.errors == []
    assert watch.elsewhere == []


async def test_the_rule_lab_finds_the_seed_article_and_not_football(
    write_config,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    dashboard: Serve,
    tmp_path: Path,
) -> None:
    feeds.set("seed.xml", seed_feed)
    config = seed_config(write_config, f"sqlite:///{tmp_path / 'lab.db'}", feeds, receiver)
    await run_once(config, clock)
    origin = await dashboard(config)
    async with browser_page(origin) as (page, watch):
        await page.goto(origin + "/lab")
        await page.fill("input[name=q]", "Belarus* AND sanksi")
        await page.click("button:has-text('Match')")
        results = await page.locator("#lab-results > li").all_inner_texts()
        assert len(results) == 1
        assert "Belarusia dan Rusia Tanggapi Ancaman" in results[0]
        assert "sanksi-sanksi" in await page.locator("#lab-results mark").all_inner_texts()
        assert "1 of 3 stored articles matched" in await page.locator("#lab-summary").inner_text()
        assert "word family" in await page.locator("#explain").inner_text()
        await page.screenshot(path=tmp_path / "lab.png", full_page=True)

        await page.fill("input[name=q]", "sepak bola AND (Persija OR Persib)")
        await page.click("button:has-text('Match')")
        assert await page.locator("#lab-results > li").count() == 0
        assert "0 of 3" in await page.locator("#lab-summary").inner_text()

        await page.fill("input[name=q]", "sanksi AND (")
        await page.click("button:has-text('Match')")
        assert "at character" in await page.locator("#lab-error").inner_text()
    assert watch.errors == []


HOSTILE = (
    "<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
    "<description><![CDATA[{summary}]]></description></item>"
)
TRICKS = [
    (
        "&lt;script&gt;alert('title')&lt;/script&gt; sanksi",
        "javascript:alert('link')",
        "<script>alert('summary')</script> sanksi",
    ),
    (
        "&lt;img src=x onerror=alert('img')&gt; sanksi",
        'https://evil.example/" onmouseover="alert(1)',
        "<img src=x onerror=\"alert('img2')\"> <a href=\"javascript:alert('a')\">sanksi</a>",
    ),
    (
        "&lt;style&gt;body{{display:none}}&lt;/style&gt; sanksi",
        "data:text/html,<script>alert(5)</script>",
        "<style>*{{visibility:hidden}}</style><svg onload=alert('svg')></svg> sanksi",
    ),
    (
        "\"&gt;&lt;iframe src=javascript:alert('frame')&gt; sanksi",
        "  JaVaScRiPt:alert('case')",
        '<div style="background:url(javascript:alert(6))">sanksi</div>',
    ),
]


def hostile_feed() -> bytes:
    items = "".join(
        HOSTILE.format(
            title=t, link=link.replace("&", "&amp;").replace("<", "&lt;"), guid=f"g{i}", summary=s
        )
        for i, (t, link, s) in enumerate(TRICKS)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>&lt;script&gt;alert("feed")'
        f"&lt;/script&gt;</title><link>https://evil.example/</link>{items}</channel></rss>"
    ).encode()


async def test_a_hostile_feed_executes_nothing(
    write_config,
    feeds: FeedServer,
    receiver: Receiver,
    clock: FakeClock,
    dashboard: Serve,
    tmp_path: Path,
) -> None:
    """Script tags, event handlers, javascript: and data: links and CSS tricks in a feed's
    titles, links and summaries: every page shows them as text, opens no dialog, logs no
    error, fetches nothing, and links out to no script."""
    feeds.set("seed.xml", hostile_feed())
    config = seed_config(write_config, f"sqlite:///{tmp_path / 'evil.db'}", feeds, receiver)
    await run_once(config, clock)
    origin = await dashboard(config)
    async with browser_page(origin) as (page, watch):
        response = await page.goto(origin + "/alerts")
        assert "script-src" not in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        alert_links = await page.locator("#alerts td:nth-child(3) a").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
        assert len(alert_links) == len(TRICKS)
        pages = [
            "/",
            "/feeds",
            "/feeds/1",
            "/rules",
            "/rules/sanksi",
            "/lab?q=sanksi",
            *alert_links,
        ]
        for path in pages:
            response = await page.goto(origin + path)
            assert response.status == 200, path
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert await page.locator("script, iframe, img, style:not(head style)").count() == 0
            hrefs = await page.locator("a").evaluate_all("els => els.map(e => e.href)")
            assert not [h for h in hrefs if not h.startswith(("http://", "https://"))], path
            outside = await page.locator("a[href^='https://evil']").evaluate_all(
                "els => els.map(e => e.rel)"
            )
            assert all(rel == "noopener noreferrer" for rel in outside), path
            assert await page.locator("body").is_visible()
        await page.goto(origin + "/feeds/1")
        assert "<script>alert" in await page.locator("#entries").inner_text()
        await page.screenshot(path=tmp_path / "hostile.png", full_page=True)
    assert watch.dialogs == []
    assert watch.errors == []
    assert watch.elsewhere == []


async def test_the_token_gate(
    write_config,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    dashboard: Serve,
    tmp_path: Path,
) -> None:
    """With http.token every page asks for it: none and a wrong one get the login form (or a
    401 for a script), the right one as a bearer token or through the form gets in; the
    cookie is HttpOnly and SameSite=Strict and is not the token; the probes stay open."""
    feeds.set("seed.xml", seed_feed)
    config = seed_config(
        write_config,
        f"sqlite:///{tmp_path / 'gate.db'}",
        feeds,
        receiver,
        listen="127.0.0.1:0",
        token=TOKEN,
    )
    await run_once(config, clock)
    origin = await dashboard(config)
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
            async with http.get(origin + "/alerts", headers=headers, allow_redirects=False) as r:
                assert r.status == 401
                assert "Belarus" not in await r.text()
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(origin + "/alerts", headers=bearer) as r:
            assert r.status == 200
            assert "Belarusia" in await r.text()
    async with browser_page(origin) as (page, watch):
        await page.goto(origin + "/alerts")
        assert page.url == origin + "/login"
        await page.fill("input[name=token]", "not-the-token-at-all")
        await page.click("button:has-text('Log in')")
        assert "not the token" in await page.locator("#login-error").inner_text()
        await page.screenshot(path=tmp_path / "login.png")
        await page.fill("input[name=token]", TOKEN)
        await page.click("button:has-text('Log in')")
        assert page.url == origin + "/"
        [cookie] = await page.context.cookies()
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert TOKEN not in cookie["value"]
        await page.goto(origin + "/alerts")
        assert await page.locator("#alerts tbody tr").count() == 2
    assert watch.errors == [] or all("401" in e for e in watch.errors)


async def test_actions_need_the_csrf_value_and_the_dashboards_origin(
    write_config,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    dashboard: Serve,
    tmp_path: Path,
) -> None:
    """A dead letter (a 500 with no retries left) has a Replay button: a POST without the CSRF
    value, or from another origin, is refused and changes nothing; the button replays it."""
    feeds.set("seed.xml", seed_feed.replace(b"sanksi-sanksi", b"tindakan"))  # one alert
    receiver.answer(500)
    config: Path = write_config(
        state=f"sqlite:///{tmp_path / 'act.db'}",
        defaults={"backfill": "all"},
        feeds=[{"url": feeds.url("seed.xml"), "name": "Tagar", "language": "id"}],
        rules=RULES,
        sinks={"hook": webhook(receiver.url, retries=[])},
        http={"listen": "127.0.0.1:0", "token": TOKEN, "actions": True},
    )
    await run_once(config, clock)
    origin = await dashboard(config)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(origin + "/alerts?tab=dead", headers=bearer) as r:
            page_html = await r.text()
        [alert_id] = {p.split('"')[0] for p in page_html.split('href="/alerts/')[1:]}
        replay = f"{origin}/actions/replay/{alert_id}"
        refused = [
            ({**bearer, "Origin": origin}, {}),  # no CSRF value
            ({**bearer, "Origin": origin}, {"csrf": "0" * 64}),  # a wrong one
        ]
        async with http.get(origin + f"/alerts/{alert_id}", headers=bearer) as r:
            csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]
        refused.append(({**bearer, "Origin": "http://127.0.0.2:1"}, {"csrf": csrf}))
        refused.append((bearer, {"csrf": csrf}))  # no origin at all
        for headers, form in refused:
            async with http.post(replay, headers=headers, data=form, allow_redirects=False) as r:
                assert r.status == 403, (headers, form)
        async with http.get(origin + "/alerts?tab=dead", headers=bearer) as r:
            assert alert_id in await r.text()
    async with browser_page(origin, extra_http_headers=bearer) as (page, watch):
        await page.goto(origin + f"/alerts/{alert_id}")
        await page.click("button:has-text('Replay')")
        assert "pending" in await page.locator("dl.facts").inner_text()
    assert watch.errors == []


async def test_the_daemon_serves_the_dashboard_beside_its_probes(
    write_config, feeds: FeedServer, receiver: Receiver, seed_feed: bytes, tmp_path: Path
) -> None:
    """The running daemon's http.listen: /healthz, /readyz and /metrics as before, without the
    token; the dashboard behind it, showing the daemon's own polls as they happen; a feed
    gone (410) has an Enable button that enables it."""
    from tests.test_metrics import running, status, status_until

    feeds.set("seed.xml", seed_feed)
    gone = feeds.set("gone.xml", b"", status=410)
    config: Path = write_config(
        state=f"sqlite:///{tmp_path / 'daemon.db'}",
        defaults={"backfill": "all"},
        feeds=[{"url": feeds.url("seed.xml"), "name": "Tagar", "language": "id"}, gone],
        rules=RULES,
        sinks={"hook": webhook(receiver.url)},
        http={"listen": "127.0.0.1:0", "token": TOKEN, "actions": True},
    )
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with running(config) as (daemon, _), aiohttp.ClientSession() as http:
        assert daemon.endpoint is not None
        base = daemon.endpoint.url
        assert await status_until(http, f"{base}/readyz", 200) == "ready\n"
        assert await status(http, f"{base}/healthz") == (200, "ok\n")
        async with http.get(f"{base}/metrics") as r:
            assert r.status == 200
            assert "newsmon_feeds" in await r.text()
        async with http.get(f"{base}/", allow_redirects=False) as r:
            assert r.status == 401
        async with browser_page(base, extra_http_headers=bearer) as (page, watch):
            for _ in range(100):  # the daemon polls on its own clock
                await page.goto(f"{base}/feeds?state=disabled")
                if await page.locator("#feeds tbody a").count():
                    break
                await asyncio.sleep(0.1)
            await page.click("#feeds tbody a")
            assert "disabled" in await page.locator("dl.facts").inner_text()
            feeds.set("gone.xml", seed_feed.replace(b"tagar.id/", b"tagar.id/back/"))  # it is back
            await page.click("button:has-text('Enable')")
            assert "disabled" not in await page.locator("dl.facts dd").first.inner_text()
        assert watch.errors == []


async def test_every_page_fits_a_phone_screen(
    write_config,
    feeds: FeedServer,
    receiver: Receiver,
    seed_feed: bytes,
    clock: FakeClock,
    dashboard: Serve,
    tmp_path: Path,
) -> None:
    """At 390 px wide no page is wider than the screen: the header wraps and wide tables
    scroll inside themselves."""
    feeds.set("seed.xml", seed_feed)
    config = seed_config(write_config, f"sqlite:///{tmp_path / 'phone.db'}", feeds, receiver)
    await run_once(config, clock)
    origin = await dashboard(config)
    phone = {"width": 390, "height": 844}
    async with browser_page(origin, viewport=phone) as (page, watch):
        await page.goto(origin + "/alerts")
        alert = await page.locator("table a[href^='/alerts/']").first.get_attribute("href")
        paths = ["/", "/feeds", "/feeds/1", "/alerts", str(alert), "/rules", "/rules/sanksi"]
        for path in [*paths, "/lab?q=Belarus*+AND+sanksi&window=30d"]:
            await page.goto(origin + path)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= phone["width"], (path, width)
            name = path.strip("/").split("?")[0].replace("/", "-") or "overview"
            await page.screenshot(path=tmp_path / f"phone-{name}.png", full_page=True)
    assert watch.errors == []
