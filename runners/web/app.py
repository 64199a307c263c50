"""The aiohttp application factory and the explicit list of every endpoint it serves."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from runners.settings import Settings
from runners.signaling import endpoint as signaling
from runners.signaling.context import HUB
from runners.signaling.setup import install_signaling
from runners.web import routing
from runners.web.context import OPENAPI, SERVICES, SETTINGS, Services
from runners.web.handlers import ai, auth, dead_letters, media, meetings, meta, users
from runners.web.middleware import MIDDLEWARES, hide_server_version, security_headers
from runners.web.openapi import build_document
from runners.web.routing import Endpoint
from runners.web.static_site import install_static

SIGNALING = (
    Endpoint.get("/ws/signaling", signaling.signaling, summary="WebSocket signaling (protocol in docs/signaling.md)",
                 tag="signaling", auth=False, self_authenticating=True, status=101, errors=(400, 401, 403)),
)
ROUTES: tuple[Endpoint, ...] = (*auth.ROUTES, *users.ROUTES, *dead_letters.ROUTES, *meetings.ROUTES, *media.ROUTES,
                                *SIGNALING, *meta.ROUTES, *ai.ROUTES)


def served(tags: set[str] | None = None) -> list[Endpoint]:
    """The endpoints a process serves (all of ROUTES, or those with the given tags)."""
    return routing.select(ROUTES, tags)


def create_app(services: Services, settings: Settings, tags: set[str] | None = None) -> web.Application:
    """``tags`` limits the routes (a signaling-only process serves {"signaling", "media", "meta"})."""
    hide_server_version()
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_body_bytes)
    app.on_response_prepare.append(security_headers)
    app[SERVICES] = services
    app[SETTINGS] = settings
    endpoints = served(tags)
    app[OPENAPI] = build_document(endpoints)
    routing.install(app, endpoints)
    install_signaling(app, services.rooms, services.signal_bus, services.event_feed)
    if tags is None:  # the all-in-one serves the web client; a signaling-only process does not
        install_static(app)
    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.append(media_server)
    app.cleanup_ctx.extend(services.background)
    return app


async def close_sockets(app: web.Application) -> None:
    """on_shutdown runs before aiohttp waits for running handlers: an open WebSocket is a handler that
    never returns by itself, so without this every stop with a socket open waited the whole
    shutdown timeout (60 s by default) with the listener already closed."""
    for conn in list(app[HUB].connections.values()):
        conn.close("shutdown", "server shutting down")


async def media_server(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the SFU closes every peer connection when the app stops."""
    yield
    await app[SERVICES].media.close()
