"""The browser client: GET / serves index.html, GET /static/... its assets (no build step).
A meeting's link, /m/<meeting id> (what people share) or /meetings/<meeting id> (what notifications
link to), serves index.html too: the page reads the id from its address and opens that meeting's lobby.

Only the all-in-one serves it. The routes are not API endpoints, so they are not in the route table
nor the OpenAPI document; ``SITE_ROUTE_NAMES`` lets the router-vs-document test leave them out.
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent / "static"
SITE_ROUTE_NAMES = frozenset({"site_index", "site_static", "site_meeting_link", "site_meeting_page"})
MEETING_ID = "{id:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}}"
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def content_security_policy(host: str) -> str:
    # 'self' covers ws:/wss: to the same host only in CSP 3 browsers: name them explicitly.
    sockets = f" ws://{host} wss://{host}" if _HOST_RE.fullmatch(host) else ""
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"media-src 'self' blob: mediastream:; connect-src 'self'{sockets}; manifest-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def _site_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.match_info.route.name not in SITE_ROUTE_NAMES:
        return
    response.headers["Content-Security-Policy"] = content_security_policy(request.host)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(self), geolocation=()"
    # No content hashes in the file names: make browsers revalidate (ETag/Last-Modified) every time.
    response.headers["Cache-Control"] = "no-cache"


def install_static(app: web.Application) -> None:
    app.router.add_get("/", _index, name="site_index")
    app.router.add_get(f"/m/{MEETING_ID}", _index, name="site_meeting_link")
    app.router.add_get(f"/meetings/{MEETING_ID}", _index, name="site_meeting_page")
    app.router.add_static("/static/", STATIC_DIR, name="site_static", append_version=False)
    app.on_response_prepare.append(_site_headers)
