"""Overview, feeds and alerts: each handler reads a page or a window from the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from monitor.app.web.charts import bar_chart
from monitor.app.web.render import hit_snippets
from monitor.base.types import AlertState, FeedState
from monitor.store import FeedQuery
from monitor.store.counts import CountKind, hour_of

if TYPE_CHECKING:
    from monitor.app.web import Dashboard

Handler = Callable[[web.Request], Awaitable[web.Response]]
PAGE = 50
CHART_DAYS = 3
DEAD_TABS: dict[str, tuple[str, ...]] = {"dead": (AlertState.DEAD,), "recent": ()}  # (): all


def hourly_bars(counts: dict[datetime, int], now: datetime, days: int) -> list[tuple[str, int]]:
    start = hour_of(now) - timedelta(hours=days * 24 - 1)
    hours = [start + timedelta(hours=i) for i in range(days * 24)]
    return [(f"{h:%d %Hh}", counts.get(h, 0)) for h in hours]


def overview(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        status = await d.store.status()
        since = hour_of(status.now) - timedelta(days=CHART_DAYS)
        polls = await d.store.hourly(CountKind.POLL, since)
        sent = await d.store.hourly(CountKind.ALERT, since)
        nodes = await d.store.list_nodes(d.node_gone_after)
        charts = {
            "polls": bar_chart(hourly_bars(polls, status.now, CHART_DAYS), title="polls per hour"),
            "alerts": bar_chart(
                hourly_bars(sent, status.now, CHART_DAYS), title="delivery attempts per hour"
            ),
        }
        reload = max(
            (n for n in nodes if n.reload_at is not None),
            key=lambda n: n.reload_at or status.now,
            default=None,
        )
        return d.render(
            "overview.html",
            status=status,
            charts=charts,
            nodes=nodes,
            reload=reload,
            states=list(FeedState),
            configured=set(d.config().settings.sinks),
        )

    return handle


def _int(request: web.Request, name: str, default: int = 0) -> int:
    try:
        return max(0, int(request.query.get(name, default)))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a number") from None


def feeds(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        q = request.query
        view = d.view()
        query = FeedQuery(
            state=q.get("state") or None,
            host=q.get("host") or None,
            tag=q.get("tag") or None,
            failing=q.get("failing") == "1",
            sort=q.get("sort", "url"),
            offset=_int(request, "offset"),
            limit=PAGE,
        )
        rows, total = await d.store.feeds_page(query)
        kept = {k: v for k, v in q.items() if k != "offset" and v}
        links = {
            "prev": urlencode({**kept, "offset": max(0, query.offset - PAGE)})
            if query.offset
            else None,
            "next": urlencode({**kept, "offset": query.offset + PAGE})
            if query.offset + PAGE < total
            else None,
        }
        return d.render(
            "feeds.html",
            rows=rows,
            total=total,
            query=query,
            q=q,
            links=links,
            states=list(FeedState),
            tags=view.tags,
            labels=view.labels,
        )

    return handle


def feed(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        try:
            feed_id = int(request.match_info["id"])
        except ValueError:
            raise web.HTTPNotFound(text="no such feed") from None
        found = await d.store.feed_detail(feed_id)
        if found is None:
            raise web.HTTPNotFound(text="no such feed")
        spec = d.view().by_url.get(found["url"])
        interval = d.config().settings.interval(spec) if spec else None
        pages = (await d.store.page_counts([found["url"]])).get(found["url"], {})
        fallbacks = sorted((k[9:], n) for k, n in pages.items() if k.startswith("fallback:"))
        return d.render(
            "feed.html", feed=found, spec=spec, interval=interval, pages=pages, fallbacks=fallbacks
        )

    return handle


def alerts(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        tab = request.query.get("tab", "recent")
        if tab not in DEAD_TABS:
            tab = "recent"
        offset = _int(request, "offset")
        rows = await d.store.alerts_page(DEAD_TABS[tab], offset, PAGE + 1)
        more = len(rows) > PAGE
        return d.render(
            "alerts.html",
            rows=rows[:PAGE],
            tab=tab,
            prev=max(0, offset - PAGE) if offset else None,
            next=offset + PAGE if more else None,
        )

    return handle


def alert(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        found = await d.store.alert_detail(request.match_info["id"])
        if found is None:
            raise web.HTTPNotFound(text="no such alert")
        snippets = hit_snippets(found, found["hits"])
        words = sorted({str(h.get("text")) for h in found["hits"]})
        return d.render("alert.html", alert=found, snippets=snippets, words=words)

    return handle
