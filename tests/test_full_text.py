"""Full text over loopback: teaser feeds whose article pages carry the seed article.

A site server on 127.0.0.1 serves the feed, its pages (heavy, with a "Berita terkait" box that
mentions other topics), robots.txt, and the pages that fail: one that hangs, a 403, one over
the body cap, a gzip bomb, and one robots.txt disallows.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from email.utils import format_datetime
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from monitor.app.daemon import Daemon
from monitor.config import load_config
from monitor.store import Store
from monitor.store.schema import alerts, entries, pages, revisions
from tests.configs import rule, webhook
from tests.conftest import FakeClock, Receiver, run_once
from tests.pages import SEED_TITLE, article_page

TEASER = (
    "Belarusia dan Rusia dikabarkan siap bekerja sama menanggapi ancaman eksternal di tengah "
    "protes besar."
)
RULES = [rule("belarus", "Belarus*"), rule("sanksi", "sanksi")]


class Site:
    """One news site on 127.0.0.1: its feed, article pages and robots.txt; every request kept."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.status: dict[str, int] = {}
        self.hang: set[str] = set()
        self.delay: dict[str, float] = {}
        self.robots = "User-agent: *\nDisallow: /private/\n"
        self.feed = b""
        self.authorization: str | None = None  # required of every request when set
        self.seen: list[dict[str, str]] = []
        self.requests: list[str] = []
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def hits(self, path: str) -> int:
        return self.requests.count(path)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.requests.append(path)
        self.seen.append(dict(request.headers))
        if self.authorization and request.headers.get("Authorization") != self.authorization:
            return web.Response(status=401)
        if path == "feed.xml":
            return web.Response(body=self.feed, content_type="application/rss+xml")
        if path == "robots.txt":
            return web.Response(text=self.robots)
        if path in self.hang:
            await asyncio.sleep(3600)
        if path in self.delay:
            await asyncio.sleep(self.delay[path])
        if path not in self.pages:
            return web.Response(status=self.status.get(path, 404))
        headers = {"Content-Type": "text/html; charset=utf-8", **self.headers.get(path, {})}
        return web.Response(body=self.pages[path], headers=headers)

    def teaser_feed(self, items: list[tuple[str, str, str]]) -> None:
        """A feed of (path, title, teaser) items, each linking to its page on this site."""
        rows = "".join(
            f"<item><title>{title}</title><link>{self.url(path)}</link><guid>{path}</guid>"
            f"<pubDate>{format_datetime(FakeClock().now)}</pubDate>"
            f"<description>{teaser}</description></item>"
            for path, title, teaser in items
        )
        self.feed = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Berita Contoh</title><link>{self.base}/</link>{rows}</channel></rss>"
        ).encode()


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    server = Site()
    await server.start()
    yield server
    assert server.runner is not None
    await server.runner.cleanup()


def seed_site(site: Site) -> None:
    site.pages["berita/belarus"] = article_page().encode()
    site.teaser_feed([("berita/belarus", SEED_TITLE, TEASER)])


@pytest.fixture
def make_config(write_config, state: str, site: Site, receiver: Receiver):
    def make(rules: list[dict[str, Any]] = RULES, **defaults: Any) -> Any:
        return write_config(
            state=state,
            defaults={"backfill": "all", "full_text": "auto", **defaults},
            feeds=[{"url": site.url("feed.xml"), "name": "Contoh", "language": "id"}],
            rules=rules,
            sinks={"hook": webhook(receiver.url)},
        )

    return make


async def _rows(config: Any, query: Any) -> list[Any]:
    store = await Store.open(load_config(config).settings.state, FakeClock())
    try:
        async with store.engine.connect() as conn:
            return list((await conn.execute(query)).all())
    finally:
        await store.close()


def _by_rule(receiver: Receiver) -> dict[str, Any]:
    return {d.json["data"]["rule"]["id"]: d.json for d in receiver.deliveries}


async def test_a_teaser_feed_alerts_on_its_page_quoted_from_the_article_not_the_box(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    seed_site(site)
    config = make_config()
    await run_once(config, clock)

    by_rule = _by_rule(receiver)
    assert sorted(by_rule) == ["belarus", "sanksi"]
    [hit] = by_rule["sanksi"]["data"]["hits"]
    assert hit["text"] == "sanksi-sanksi"
    assert "memberlakukan sanksi-sanksi terhadap para pejabat Belarus" in hit["snippet"]
    assert all(d.json["type"] == "article.matched" for d in receiver.deliveries)
    [row] = await _rows(config, sa.select(entries.c.content, entries.c.feed_content))
    assert "Lukashenko" in row.content
    assert "Berita terkait" not in row.content
    assert "Nobel Alternatif" not in row.content
    assert "Kanal" not in row.content
    assert row.feed_content == ""  # the feed's own body: it had only a summary
    [page] = await _rows(config, sa.select(pages.c.state, pages.c.kind))
    assert tuple(page) == ("done", "done")
    assert site.hits("berita/belarus") == 1


async def test_full_text_never_keeps_the_feed_text(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    seed_site(site)
    await run_once(make_config(full_text="never"), clock)
    assert sorted(_by_rule(receiver)) == ["belarus"]  # sanksi is only in the page
    assert site.hits("berita/belarus") == 0


async def test_a_feed_carrying_whole_articles_fetches_no_page(
    make_config, site: Site, receiver: Receiver, clock: FakeClock, seed_feed: bytes
) -> None:
    site.feed = seed_feed
    await run_once(make_config(), clock)
    assert sorted(_by_rule(receiver)) == ["belarus", "sanksi"]
    assert site.requests == ["feed.xml"]


async def test_failing_pages_fall_back_with_their_reason_and_the_others_complete(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    seed_site(site)
    big = article_page(weight=300_000).encode()
    bomb = gzip.compress(b"<html><body>" + b"<p>sanksi</p>" * 2_000_000 + b"</body></html>")
    paywall = (
        b"<html><body><div class='paywall'><p>Berlangganan untuk membaca.</p></div></body></html>"
    )
    site.pages |= {
        "big": big,
        "bomb": bomb,
        "private/a": article_page().encode(),
        "paywall": paywall,
    }
    site.headers["bomb"] = {"Content-Encoding": "gzip"}
    site.status["forbidden"] = 403
    site.status["legal"] = 451
    site.hang.add("hang")
    private = site.base.replace("127.0.0.1", "127.0.0.2")
    items = [("berita/belarus", SEED_TITLE, TEASER)] + [
        (path, f"Berita {i}", "Satu kalimat saja.")
        for i, path in enumerate(
            ["big", "bomb", "forbidden", "legal", "hang", "private/a", "paywall"]
        )
    ]
    site.teaser_feed(items)
    feed = site.feed.decode().replace(f"{site.base}/elsewhere", f"{private}/elsewhere")
    feed = feed.replace("</channel>", _item(f"{private}/elsewhere", "Berita 9") + "</channel>")
    site.feed = feed.encode()
    config = make_config(max_body="200KB", timeout="1s", full_text_wait="3s")

    async with Daemon(load_config(config), clock=clock, parse_pool=None) as daemon:
        await daemon.run_once()
        metrics = daemon.metrics.registry

    rows = await _rows(
        config,
        sa.select(pages.c.url, pages.c.state, pages.c.kind, pages.c.reason).order_by(pages.c.url),
    )
    kinds = {row.url.rsplit("/", 1)[-1]: (row.state, row.kind) for row in rows}
    assert kinds["belarus"] == ("done", "done")
    assert kinds["big"] == ("fallback", "too_large")
    assert kinds["bomb"] == ("fallback", "too_large")
    assert kinds["forbidden"] == ("fallback", "http")
    assert kinds["legal"] == ("fallback", "http")
    assert kinds["paywall"] == ("fallback", "no_article")
    assert kinds["a"] == ("fallback", "robots")
    assert kinds["elsewhere"] == ("fallback", "refused")
    assert kinds["hang"] == (
        "owed",
        "timeout",
    )  # tried again in a minute, a bounded number of times
    assert all(row.reason for row in rows if row.state != "done")
    assert "sanksi" in _by_rule(receiver)
    assert site.hits("private/a") == 0  # robots.txt said no: never asked for

    def counted(result: str) -> float | None:
        return metrics.get_sample_value("newsmon_pages_total", {"result": result})

    assert counted("extracted") == 1
    assert counted("fell_back") == 8  # the hanging page's timeout included: it is owed again
    assert counted("refused") == 2  # the private address and robots.txt
    assert counted("fetched") == 2  # bodies that came back whole: the article, the paywall
    kinds_seen = {"kind": "too_large"}
    assert metrics.get_sample_value("newsmon_page_fallbacks_total", kinds_seen) == 2


def _item(link: str, title: str) -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>Satu kalimat saja.</description></item>"
    )


async def test_a_late_page_alerts_the_rules_it_adds_once_and_is_not_an_edit(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    """The poll waits 0.3 s; the page takes 1 s: belarus alerts on the teaser, then sanksi
    alerts as new when the page arrives, belarus does not alert again, and nothing is an
    edit (no article.updated, no revision)."""
    seed_site(site)
    site.delay["berita/belarus"] = 1.0
    config = make_config(full_text_wait="0.3s")
    await run_once(config, clock)

    types = [(d.json["data"]["rule"]["id"], d.json["type"]) for d in receiver.deliveries]
    assert sorted(types) == [("belarus", "article.matched"), ("sanksi", "article.matched")]
    [hit] = _by_rule(receiver)["sanksi"]["data"]["hits"]
    assert hit["text"] == "sanksi-sanksi"
    assert await _rows(config, sa.select(revisions.c.id)) == []
    [row] = await _rows(
        config, sa.select(entries.c.revision, entries.c.content, entries.c.story_id)
    )
    assert row.revision == 0
    assert "Lukashenko" in row.content
    stories = {d.json["data"]["article"].get("story_id") for d in receiver.deliveries}
    alert_stories = await _rows(config, sa.select(alerts.c.story_id).distinct())
    assert [tuple(r) for r in alert_stories] == [(row.story_id,)]  # the story it was placed in
    assert len(stories) == 1

    await run_once(config, clock)  # nothing more: not a new entry, not an edit
    assert len(receiver.deliveries) == 2


async def test_an_exclude_only_in_the_page_stops_a_rule_in_time_and_late(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    seed_site(site)
    rules = [
        rule("belarus", "Belarus*", exclude="Pompeo"),  # Pompeo is only in the page
        rule("lukashenko", "Lukashenko", exclude="Pompeo"),
        rule("sanksi", "sanksi"),
    ]
    await run_once(make_config(rules), clock)
    assert sorted(_by_rule(receiver)) == ["sanksi"]


async def test_an_exclude_only_in_a_late_page_stops_a_rule_that_had_not_alerted(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    seed_site(site)
    site.delay["berita/belarus"] = 1.0
    rules = [rule("lukashenko", "Lukashenko", exclude="Pompeo"), rule("sanksi", "sanksi")]
    await run_once(make_config(rules, full_text_wait="0.2s"), clock)
    assert sorted(_by_rule(receiver)) == ["sanksi"]


async def test_an_edit_of_the_teaser_reads_the_page_again_at_most_once_per_interval(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    seed_site(site)
    config = make_config(interval="10m")
    await run_once(config, clock)
    assert site.hits("berita/belarus") == 1
    for n, teaser in enumerate(["Versi kedua ringkasan.", "Versi ketiga ringkasan."]):
        site.teaser_feed([("berita/belarus", SEED_TITLE, teaser)])
        clock.advance(60)
        await run_once(config, clock)
        assert site.hits("berita/belarus") == 1, n  # within the interval: the page is kept
        [row] = await _rows(config, sa.select(entries.c.content, entries.c.feed_content))
        assert "Lukashenko" in row.content
        assert row.feed_content == ""
    site.teaser_feed([("berita/belarus", SEED_TITLE, "Versi keempat ringkasan.")])
    clock.advance(600)
    await run_once(config, clock)
    assert site.hits("berita/belarus") == 2


async def test_the_language_is_told_from_the_page(
    write_config, state: str, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    """The feed says English and its teaser is too short to tell; the page is Indonesian."""
    site.pages["berita/belarus"] = article_page().encode()
    site.teaser_feed([("berita/belarus", "Belarus", "Minsk.")])
    feed_xml = site.feed.replace(b"<channel>", b"<channel><language>en</language>")
    site.feed = feed_xml
    config = write_config(
        state=state,
        defaults={"backfill": "all", "full_text": "auto"},
        feeds=[site.url("feed.xml")],
        rules=[rule("sanksi", "sanksi")],
        sinks={"hook": webhook(receiver.url)},
    )
    await run_once(config, clock)
    [row] = await _rows(config, sa.select(entries.c.language))
    assert row.language == "id"
    [alert] = receiver.deliveries
    assert alert.json["data"]["article"]["declared_language"] == "en"


async def test_test_rules_full_text_shows_what_the_extractor_kept(
    write_config, site: Site, tmp_path
) -> None:
    from tests.test_cli import newsmon

    seed_site(site)
    site.pages["berita/belarus"] = article_page().encode()
    config = write_config(rules=RULES)
    url = site.url("feed.xml")
    code, out, err = await newsmon("test-rules", "--allow-private", "--config", str(config), url)
    assert code == 0, err
    assert "sanksi" not in out.split("belarus", 1)[1]  # only the teaser: sanksi does not match
    code, out, err = await newsmon(
        "test-rules", "--full-text", "--allow-private", "--config", str(config), url
    )
    assert code == 0, err
    assert "page text kept by the extractor" in out
    assert "Washington telah memberlakukan sanksi-sanksi" in out
    assert "Berita terkait" not in out
    assert "   sanksi" in out
    site.robots = "User-agent: newsmon\nDisallow: /\n"
    code, out, err = await newsmon(
        "test-rules", "--full-text", "--json", "--allow-private", "--config", str(config), url
    )
    assert code == 0, err
    import json

    [line] = [json.loads(x) for x in out.splitlines()]
    assert line["page"]["kind"] == "robots"
    assert line["matches"][0]["rule"] == "belarus"


async def _one_read_one_forbidden(make_config: Any, site: Site, clock: FakeClock) -> Any:
    """One pass over a feed of two teasers: one page read, one answering 403."""
    seed_site(site)
    site.status["forbidden"] = 403
    site.teaser_feed(
        [("berita/belarus", SEED_TITLE, TEASER), ("forbidden", "Berita", "Satu kalimat.")]
    )
    config = make_config()
    await run_once(config, clock)
    return config


async def test_feeds_shows_the_pages_read_and_fallen_back_and_why(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    from tests.test_cli import newsmon

    config = await _one_read_one_forbidden(make_config, site, clock)
    code, out, err = await newsmon("feeds", "--config", str(config))
    assert code == 0, err
    assert "article pages: 1 read, 1 fell back (1 http)" in out


async def test_pages_are_fetched_with_the_feeds_credentials_and_their_own_accept(
    write_config, state: str, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    seed_site(site)
    site.authorization = "Basic bmV3c3Jvb206czNjcmV0"  # newsroom:s3cret
    config = write_config(
        state=state,
        defaults={"backfill": "all", "full_text": "auto"},
        feeds=[
            {
                "url": site.url("feed.xml"),
                "language": "id",
                "auth": {"type": "basic", "user": "newsroom", "password": "s3cret"},
                "headers": {"X-Desk": "dunia"},
            }
        ],
        rules=RULES,
        sinks={"hook": webhook(receiver.url)},
    )
    await run_once(config, clock)
    assert sorted(_by_rule(receiver)) == ["belarus", "sanksi"]
    page = site.seen[site.requests.index("berita/belarus")]
    assert page["X-Desk"] == "dunia"
    assert page["Accept"].startswith("text/html")
    robots = site.seen[site.requests.index("robots.txt")]
    assert robots["Authorization"] == site.authorization


async def test_robots_false_reads_pages_robots_txt_disallows(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    """For a source the user has permission to read: robots.txt is not even asked."""
    site.pages["private/belarus"] = article_page().encode()
    site.teaser_feed([("private/belarus", SEED_TITLE, TEASER)])
    await run_once(make_config(robots=False), clock)
    assert sorted(_by_rule(receiver)) == ["belarus", "sanksi"]
    assert "robots.txt" not in site.requests


def test_a_page_is_tried_a_bounded_number_of_times() -> None:
    from monitor.flow.pages import MAX_ATTEMPTS, PageOutcome, for_good

    timeout = PageOutcome("http://127.0.0.1/a", None, "timeout", "no complete response")
    assert not for_good(timeout, 1)
    assert not for_good(timeout, MAX_ATTEMPTS - 1)
    assert for_good(timeout, MAX_ATTEMPTS)
    for status, again in [("HTTP 503", True), ("HTTP 429", True), ("HTTP 403", False)]:
        outcome = PageOutcome("http://127.0.0.1/a", None, "http", f"{status} from the server")
        assert for_good(outcome, 1) is not again, status
    assert for_good(PageOutcome("http://127.0.0.1/a", None, "robots", "disallowed"), 1)


async def test_the_dashboards_feed_page_tells_its_article_pages(
    make_config, site: Site, receiver: Receiver, clock: FakeClock
) -> None:
    import aiohttp

    from monitor.app.web import Dashboard, serve

    config = await _one_read_one_forbidden(make_config, site, clock)
    loaded = load_config(config)
    store = await Store.open(loaded.settings.state, clock)
    runner, port = await serve(Dashboard.from_config(store, lambda: loaded), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/feeds") as reply:
                listing = await reply.text()
            [path] = {p for p in listing.split('"') if p.startswith("/feeds/") and p[7:].isdigit()}
            async with session.get(f"http://127.0.0.1:{port}{path}") as reply:
                text = await reply.text()
    finally:
        await runner.cleanup()
        await store.close()
    assert '<dd id="pages">1 read, 1 fell back (1 http)</dd>' in text
