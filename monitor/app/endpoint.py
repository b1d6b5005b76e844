"""The daemon's HTTP endpoint (``http: {listen: ...}``), served by aiohttp on the daemon's loop.

``/healthz``  200 while the event loop and the scheduler run (liveness: restart me if not);
``/readyz``   200 once the store is open and the first poll tick ran; 503 while starting and
              while draining after SIGTERM (readiness: count me in or out);
``/metrics``  Prometheus exposition of the daemon's registry (see :mod:`monitor.app.metrics`), in
              the text format, or OpenMetrics when the scraper asks for it.
``/``         the dashboard (:mod:`monitor.app.web`), unless ``http.dashboard: false``.

Being on the daemon's own loop is the point: a blocked loop answers nothing, which a prober
reads as dead, exactly as the systemd watchdog does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from monitor.base.errors import EndpointError

if TYPE_CHECKING:
    from monitor.app.web import Dashboard

log = structlog.get_logger("newsmon.http")


class Endpoint:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``address``; :meth:`start`, then :meth:`stop`.

    ``live`` says whether the clock runs; ``readiness`` is ``"ready"`` or why not (``starting``,
    ``draining``); ``refresh`` brings the store's gauges up to date before a scrape.
    """

    def __init__(
        self,
        address: tuple[str, int],
        registry: CollectorRegistry,
        *,
        live: Callable[[], bool],
        readiness: Callable[[], str],
        refresh: Callable[[], Awaitable[None]],
        dashboard: Dashboard | None = None,
    ) -> None:
        self.address = address
        self.registry = registry
        self.live = live
        self.readiness = readiness
        self.refresh = refresh
        self.port = 0
        app = web.Application(middlewares=dashboard.middlewares if dashboard else ())
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        if dashboard is not None:
            dashboard.mount(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    @property
    def url(self) -> str:
        host = self.address[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def start(self) -> None:
        """Listen, or raise :class:`EndpointError` (address in use, not permitted...)."""
        host, port = self.address
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as e:
            await self._runner.cleanup()
            raise EndpointError(f"cannot listen on {host}:{port} (http.listen): {e}") from e
        self.port = self._runner.addresses[0][1]
        await log.ainfo("http.listening", url=self.url)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        if self.live():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="stopped\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        state = self.readiness()
        return web.Response(status=200 if state == "ready" else 503, text=f"{state}\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        await self.refresh()
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = web.Response(body=encode(self.registry), headers={"Content-Type": content_type})
        response.enable_compression()
        return response
