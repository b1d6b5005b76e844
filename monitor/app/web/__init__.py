"""The web dashboard: what newsmon saw, matched and sent, and a rule lab over the stored news.

Served by the daemon on its ``http.listen`` address beside ``/metrics``, and by ``newsmon web``
from the store alone. Pages are rendered on the server (Jinja2, autoescaped; charts as SVG) and
need no script: see :mod:`.guard` for the gate and the headers.

=================  ==============================================================
``/``              overview: feeds by state, polls and alerts per hour, sinks, nodes
``/feeds``         the feeds, sorted, filtered and paged; ``/feeds/{id}`` one feed
``/alerts``        recent alerts (``?tab=dead`` dead letters); ``/alerts/{id}`` one
``/rules``         the rules with hits per day; ``/rules/{id}`` one rule's matches
``/lab``           the rule lab: a query over the articles stored in a window
=================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

from monitor.app.web.guard import Guard
from monitor.app.web.render import config_secrets, environment
from monitor.base.settings import FeedSpec
from monitor.config import LoadedConfig
from monitor.store import Store


@dataclass(frozen=True)
class ConfigView:
    """What the pages need of a config's feeds, built once per loaded config (a large
    config has 100,000 feeds: no page walks them)."""

    by_url: dict[str, FeedSpec]
    labels: dict[str, str]
    tags: tuple[str, ...]
    secrets: tuple[str, ...]  # every secret of the config, never shown (see :meth:`hide`)

    @classmethod
    def of(cls, loaded: LoadedConfig) -> ConfigView:
        feeds = loaded.settings.feeds
        return cls(
            by_url={feed.url: feed for feed in feeds},
            labels={feed.url: feed.label for feed in feeds},
            tags=tuple(sorted({tag for feed in feeds for tag in feed.tags})),
            secrets=config_secrets(loaded),
        )

    def hide(self, text: object) -> str:
        """``text`` with every secret of the config replaced by ``***`` (defence in depth:
        errors are redacted where they are made already)."""
        shown = "" if text is None else str(text)
        for secret in self.secrets:
            shown = shown.replace(secret, "***")
        return shown


@dataclass
class Dashboard:
    """The pages over ``store``; ``config`` gives the config in force (it may be reloaded)."""

    store: Store
    config: Callable[[], LoadedConfig]
    guard: Guard
    actions: bool = False
    node_gone_after: float = 90.0
    env: jinja2.Environment = field(default_factory=environment)
    _view: tuple[LoadedConfig, ConfigView] | None = None

    def view(self) -> ConfigView:
        """The config's feeds as the pages use them, rebuilt when the config was reloaded."""
        loaded = self.config()
        if self._view is None or self._view[0] is not loaded:
            self._view = (loaded, ConfigView.of(loaded))
        return self._view[1]

    @classmethod
    def from_config(cls, store: Store, config: Callable[[], LoadedConfig]) -> Dashboard:
        http = config().settings.http
        token = http.token.get_secret_value() if http.token else None
        gone_after = config().settings.nodes.gone_after
        made = cls(store, config, Guard(token), actions=http.actions, node_gone_after=gone_after)
        made.view()  # built now, at start, not on the first page's time
        return made

    @property
    def middlewares(self) -> list[Any]:
        return [self.guard.middleware]

    def mount(self, app: web.Application) -> None:
        from monitor.app.web import actions, lab, pages, rules

        router = app.router
        router.add_get("/", pages.overview(self))
        router.add_get("/feeds", pages.feeds(self))
        router.add_get("/feeds/{id}", pages.feed(self))
        router.add_get("/alerts", pages.alerts(self))
        router.add_get("/alerts/{id}", pages.alert(self))
        router.add_get("/rules", rules.rules(self))
        router.add_get("/rules/{id}", rules.rule(self))
        router.add_get("/lab", lab.page(self))
        router.add_get("/login", actions.login_form(self))
        router.add_post("/login", actions.login(self))
        router.add_post("/actions/replay/{id}", actions.replay(self))
        router.add_post("/actions/enable-feed/{id}", actions.enable_feed(self))
        router.add_post("/actions/enable-sink/{name}", actions.enable_sink(self))
        router.add_get("/static/style.css", _style)

    def render(self, template: str, code: int = 200, **context: Any) -> web.Response:
        html = self.env.get_template(template).render(
            actions=self.actions,
            csrf=self.guard.csrf,
            locked=not self.guard.open,
            hide=self.view().hide,
            **context,
        )
        return web.Response(text=html, status=code, content_type="text/html")


async def serve(dashboard: Dashboard, host: str, port: int) -> tuple[web.AppRunner, int]:
    """The dashboard alone on ``host:port`` (``newsmon web``); returns its runner and port.
    Raises OSError when it cannot listen."""
    app = web.Application(middlewares=dashboard.middlewares)
    dashboard.mount(app)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])


def dashboard_for(store: Store, config: Callable[[], LoadedConfig]) -> Dashboard | None:
    """The dashboard the config asks for (``http.dashboard``), or None."""
    return Dashboard.from_config(store, config) if config().settings.http.dashboard else None


_STYLE = resources.files("monitor.app.web").joinpath("static/style.css")


async def _style(request: web.Request) -> web.Response:
    return web.Response(
        body=_STYLE.read_bytes(),
        content_type="text/css",
        headers={"Cache-Control": "max-age=3600"},
    )
