"""The dashboard's gate and its security headers.

On a loopback address the dashboard is open. Elsewhere every page needs the ``http.token``:
as ``Authorization: Bearer TOKEN``, or typed once into the login form, which sets an HttpOnly,
SameSite=Strict cookie holding an HMAC of the token (never the token itself). ``/healthz``,
``/readyz`` and ``/metrics`` stay as they are. A POST (an action) must carry the form's CSRF
value, an HMAC of the token too, and come from the dashboard's own origin.

Every dashboard answer carries a Content-Security-Policy with no script source at all (the
pages have none; charts are SVG drawn on the server), and ``nosniff``, a referrer only to itself
(links out send none) and frame denial.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
PUBLIC = frozenset({"/login", "/static/style.css"})
COOKIE = "newsmon_session"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # links out send none; our own forms keep Origin
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Guard:
    """Who may see the dashboard; ``token`` None means open (loopback only, the config says)."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    @property
    def open(self) -> bool:
        return self.token is None

    def _mac(self, purpose: str) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def session(self) -> str:
        return self._mac("newsmon dashboard session")

    @property
    def csrf(self) -> str:
        return "" if self.token is None else self._mac("newsmon dashboard csrf")

    def right_token(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def allowed(self, request: web.Request) -> bool:
        if self.open:
            return True
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.right_token(given.strip()):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session.encode())

    def same_origin(self, request: web.Request) -> bool:
        """A POST from the dashboard's own pages: the browser says so (``Sec-Fetch-Site``),
        or Origin (else Referer) names this host."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site == "same-origin"
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if not origin:
            return False
        return urlsplit(origin).netloc == request.host

    def csrf_ok(self, request: web.Request, given: str) -> bool:
        return (
            not self.open
            and self.same_origin(request)
            and hmac.compare_digest(given.encode(), self.csrf.encode())
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PROBES:
            return await handler(request)
        if request.path not in PUBLIC and not self.allowed(request):
            if "text/html" in request.headers.get("Accept", ""):
                raise web.HTTPSeeOther("/login", headers=HEADERS)
            response: web.StreamResponse = web.Response(
                status=401,
                text="401: this dashboard needs its token (/login, or Authorization: Bearer)\n",
                headers={"WWW-Authenticate": 'Bearer realm="newsmon"'},
            )
        else:
            try:
                response = await handler(request)
            except web.HTTPException as e:
                e.headers.update(HEADERS)
                raise
        response.headers.update(HEADERS)
        return response

    def login(self, response: web.StreamResponse) -> None:
        response.set_cookie(COOKIE, self.session, httponly=True, samesite="Strict", path="/")
