"""The login form and the dashboard's buttons (with ``http.actions: true`` and a token): replay
a dead letter, enable a disabled feed or sink. Each POST must carry the form's CSRF value and
come from the dashboard's origin; otherwise 403, and nothing changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from aiohttp import web

from monitor.store.schema import feeds

if TYPE_CHECKING:
    from monitor.app.web import Dashboard

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def login_form(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if d.guard.open:
            raise web.HTTPSeeOther("/")
        return d.render("login.html", error=None)

    return handle


def login(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if d.guard.open:
            raise web.HTTPSeeOther("/")
        if not d.guard.same_origin(request):
            raise web.HTTPForbidden(text="403: a login must come from this dashboard's form\n")
        if not d.guard.right_token(str(form.get("token", ""))):
            return d.render("login.html", code=401, error="That is not the token.")
        response = web.Response(status=303, headers={"Location": "/"})
        d.guard.login(response)
        return response

    return handle


async def _checked(d: Dashboard, request: web.Request) -> None:
    """Refuse an action unless actions are on and the POST carries the right CSRF value."""
    if not d.actions:
        raise web.HTTPForbidden(text="403: actions are off (http.actions)\n")
    form = await request.post()
    if not d.guard.csrf_ok(request, str(form.get("csrf", ""))):
        raise web.HTTPForbidden(text="403: missing or wrong CSRF token\n")


def replay(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        await _checked(d, request)
        alert_id = request.match_info["id"]
        if not await d.store.replay_alert(alert_id):
            raise web.HTTPNotFound(text="no dead alert by that id")
        raise web.HTTPSeeOther(f"/alerts/{alert_id}")

    return handle


def enable_feed(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        await _checked(d, request)
        feed_id = int(request.match_info["id"]) if request.match_info["id"].isdigit() else -1
        async with d.store.engine.connect() as conn:
            url = (await conn.execute(sa.select(feeds.c.url).where(feeds.c.id == feed_id))).scalar()
        if url is None or not await d.store.enable_feed(url):
            raise web.HTTPNotFound(text="no disabled feed by that id")
        raise web.HTTPSeeOther(f"/feeds/{feed_id}")

    return handle


def enable_sink(d: Dashboard) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        await _checked(d, request)
        if not await d.store.enable_sink(request.match_info["name"]):
            raise web.HTTPNotFound(text="no disabled sink by that name")
        raise web.HTTPSeeOther("/")

    return handle
