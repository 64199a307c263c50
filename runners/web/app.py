"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from runners.settings import Settings
from runners.signaling.setup import install_signaling
from runners.web.context import OPENAPI, SERVICES, SETTINGS, Services
from runners.web.handlers import auth, dead_letters, media, meetings, meta, users  # noqa: F401  (they register their routes)
from runners.web.middleware import MIDDLEWARES
from runners.web.openapi import build_document
from runners.web.routing import routes
from runners.web.static_site import install_static


def create_app(services: Services, settings: Settings, tags: set[str] | None = None) -> web.Application:
    """``tags`` limits the routes (a signaling-only process serves {"signaling", "meta"})."""
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_body_bytes)
    app[SERVICES] = services
    app[SETTINGS] = settings
    app[OPENAPI] = build_document(routes.document_for(tags))
    routes.install(app, tags)
    install_signaling(app, services.rooms, services.signal_bus, services.event_feed)
    if tags is None:  # the all-in-one serves the web client; a signaling-only process does not
        install_static(app)
    app.cleanup_ctx.append(media_server)
    app.cleanup_ctx.extend(services.background)
    return app


async def media_server(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the SFU closes every peer connection when the app stops."""
    yield
    await app[SERVICES].media.close()
