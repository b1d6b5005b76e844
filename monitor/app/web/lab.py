"""The rule lab page: a query (the full rule language, with the config's groups) over the
articles stored in a window, by the engine of ``newsmon test-rules --stored``.

Bounded so that a heavy query cannot stall the daemon: articles are matched a small chunk at
a time, yielding to the event loop between chunks, until :data:`TIME_LIMIT` seconds or
:data:`MAX_SCANNED` articles; the page then says that it stopped early, and where. The
explanation of the query's terms (a walk over the word vocabulary) runs in a thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from monitor.app.lab import query_rules, stored_article
from monitor.app.web.render import mark
from monitor.base.units import parse_duration
from monitor.stages.rules import QueryError, RuleSet
from monitor.stages.rules.explain import format_explanation

if TYPE_CHECKING:
    from monitor.app.web import Dashboard

Handler = Callable[[web.Request], Awaitable[web.Response]]
TIME_LIMIT = 2.0
MAX_SCANNED = 50_000
MAX_SHOWN = 50
CHUNK = 50
MAX_QUERY = 2000
WINDOWS = ("1d", "7d", "30d", "365d")


@dataclass
class LabRun:
    scanned: int = 0
    matched: int = 0
    shown: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None  # why the scan ended before the window's last article
    seconds: float = 0.0


def _matches(rows: list[Any], rules: RuleSet, d: Dashboard, run: LabRun) -> None:
    settings, by_url = d.config().settings, d.view().by_url
    for row in rows:
        entry, article, note = stored_article(row, settings, by_url=by_url)
        found = rules.match(article)
        run.scanned += 1
        if not found:
            continue
        run.matched += 1
        if len(run.shown) < MAX_SHOWN:
            hits = [h for m in found for h in m.hits]
            fields: dict[str, list[tuple[int, int]]] = {}
            for hit in hits:
                fields.setdefault(hit.field, []).append((hit.start, hit.end))
            run.shown.append(
                {
                    "title": entry.title,
                    "url": entry.link,
                    "feed": article.feed,
                    "note": note,
                    "stored": row.first_seen_at,
                    "snippets": [mark(article.field(f), spans) for f, spans in fields.items()],
                    "terms": sorted({f"{h.text} ← {h.term} ({h.how})" for h in hits}),
                }
            )


async def scan(d: Dashboard, rules: RuleSet, window: float) -> LabRun:
    run = LabRun()
    started = time.monotonic()
    since = d.store.now() - timedelta(seconds=window)
    async for batch in d.store.stored_articles(since):
        for start in range(0, len(batch), CHUNK):
            _matches(batch[start : start + CHUNK], rules, d, run)
            await asyncio.sleep(0)  # the loop's other work goes between chunks
            elapsed = time.monotonic() - started
            if elapsed > TIME_LIMIT:
                run.stopped = f"the time limit ({TIME_LIMIT:g} s) passed"
            elif run.scanned >= MAX_SCANNED:
                run.stopped = f"the first {MAX_SCANNED:,} articles were scanned"
            if run.stopped:
                run.seconds = elapsed
                return run
    run.seconds = time.monotonic() - started
    return run


def page(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        query = request.query.get("q", "").strip()
        window = request.query.get("window", "7d")
        if window not in WINDOWS:
            window = "7d"
        context: dict[str, Any] = {"query": query, "window": window, "windows": WINDOWS}
        if not query:
            return d.render("lab.html", **context)
        if len(query) > MAX_QUERY:
            return d.render(
                "lab.html", error=f"the query is over {MAX_QUERY} characters", **context
            )
        loaded = d.config()
        try:
            rules = query_rules(query, loaded.settings.groups, loaded.rules.overrides)
        except QueryError as e:
            return d.render(
                "lab.html", error=f"{e.message} (at character {e.offset + 1})", **context
            )
        # Explaining walks the vocabulary (up to a second): in a thread, beside the scan.
        explaining = asyncio.create_task(
            asyncio.to_thread(format_explanation, rules.rules[0].definition, rules.overrides)
        )
        try:
            run = await scan(d, rules, parse_duration(window))
        finally:
            explanation = await explaining
        return d.render("lab.html", run=run, explanation=explanation, **context)

    return handle
