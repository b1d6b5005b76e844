"""The rules: each with its query, hits per day as a chart, its share of the articles stored
in the window, and its latest matches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from monitor.app.web.charts import bar_chart
from monitor.app.web.render import hit_snippets
from monitor.base.settings import RuleSpec
from monitor.store.counts import CountKind

if TYPE_CHECKING:
    from monitor.app.web import Dashboard

Handler = Callable[[web.Request], Awaitable[web.Response]]
DAYS = 14


def query_text(spec: RuleSpec) -> str:
    """The rule as written: its query, or its structured all/any/none form."""
    if spec.query:
        return spec.query
    parts = []
    for key in ("all", "any", "none"):
        words = getattr(spec, key)
        if words:
            parts.append(f"{key}: {', '.join(words)}")
    if spec.exclude:
        parts.append(f"exclude: {spec.exclude}")
    return "; ".join(parts)


def day_bars(per_day: dict[str, int], now: datetime) -> list[tuple[str, int]]:
    days = [(now - timedelta(days=DAYS - 1 - i)).strftime("%Y-%m-%d") for i in range(DAYS)]
    return [(day[5:], per_day.get(day, 0)) for day in days]


async def _window(d: Dashboard) -> tuple[datetime, dict[str, dict[str, int]], int]:
    now = d.store.now()
    since = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    hits = await d.store.rule_hits(since)
    articles = sum((await d.store.hourly(CountKind.NEW_ENTRIES, since)).values())
    return now, hits, articles


def _summary(spec: RuleSpec, hits: dict[str, int], now: datetime, articles: int) -> dict[str, Any]:
    total = sum(hits.values())
    return {
        "spec": spec,
        "query": query_text(spec),
        "total": total,
        "share": total / articles if articles else 0.0,
        "chart": bar_chart(
            day_bars(hits, now), title=f"{spec.id}: hits per day", width=360, height=70, every=7
        ),
    }


def rules(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        now, hits, articles = await _window(d)
        shown = [
            _summary(spec, hits.get(spec.id, {}), now, articles)
            for spec in d.config().settings.rules
        ]
        return d.render("rules.html", rules=shown, days=DAYS, articles=articles)

    return handle


def rule(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        rule_id = request.match_info["id"]
        spec = next((r for r in d.config().settings.rules if r.id == rule_id), None)
        if spec is None:
            raise web.HTTPNotFound(text="no such rule")
        now, hits, articles = await _window(d)
        latest = await d.store.rule_matches(rule_id, 20)
        for match in latest:
            match["snippets"] = hit_snippets(match, match["hits"] or [])
        return d.render(
            "rule.html",
            rule=_summary(spec, hits.get(rule_id, {}), now, articles),
            latest=latest,
            days=DAYS,
            articles=articles,
        )

    return handle
