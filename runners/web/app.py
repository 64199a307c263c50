"""The aiohttp application factory and the explicit list of every endpoint it serves."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from runners.observability.wiring import observe
from runners.settings import Settings
from runners.signaling import endpoint as signaling
from runners.signaling.context import HUB
from runners.signaling.notifications import live_notifications
from runners.signaling.setup import install_signaling
from runners.web import routing
from runners.web.context import OPENAPI, SERVICES, SETTINGS, Services
from runners.web.handlers import ai, auth, captions, dead_letters, media, meetings, meta, recordings, users
from runners.web.handlers import notifications
from runners.web.handlers import account_links, webhooks
from runners.web.middleware import MIDDLEWARES, hide_server_version, security_headers
from runners.web.openapi import build_document
from runners.web.routing import Endpoint
from runners.web.static_site import install_static

SIGNALING = (
    Endpoint.get("/ws/signaling", signaling.signaling, summary="WebSocket signaling (protocol in docs/signaling.md)",
                 tag="signaling", auth=False, self_authenticating=True, status=101, errors=(400, 401, 403)),
)
ROUTES: tuple[Endpoint, ...] = (*auth.ROUTES, *account_links.ROUTES, *users.ROUTES, *dead_letters.ROUTES,
                                *webhooks.ROUTES, *meetings.ROUTES, *captions.ROUTES, *media.ROUTES,
                                *recordings.ROUTES, *SIGNALING,
                                *meta.ROUTES, *notifications.ROUTES, *ai.ROUTES)


def served(tags: set[str] | None = None) -> list[Endpoint]:
    """The endpoints a process serves (all of ROUTES, or those with the given tags)."""
    return routing.select(ROUTES, tags)


def create_app(services: Services, settings: Settings, tags: set[str] | None = None) -> web.Application:
    """``tags`` limits the routes (a signaling-only process serves {"signaling", "media", "meta"})."""
    hide_server_version()
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_body_bytes)
    observe(app, metrics_on=settings.metrics_port != 0)
    app.on_response_prepare.append(security_headers)
    app[SERVICES] = services
    app[SETTINGS] = settings
    endpoints = served(tags)
    app[OPENAPI] = build_document(endpoints)
    routing.install(app, endpoints)
    install_signaling(app, services.rooms, services.signal_bus, services.event_feed, services.captions)
    if tags is None:  # the all-in-one serves the web client; a signaling-only process does not
        install_static(app)
    app.on_shutdown.append(close_sockets)
    app[account_links.LINK_TASKS] = set()
    app.on_shutdown.append(account_links.finish_link_tasks)
    app.cleanup_ctx.append(media_server)
    app.cleanup_ctx.extend(services.background)
    if services.notifications is not None:
        app.cleanup_ctx.append(live_notifications(services.notifications.live))
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
