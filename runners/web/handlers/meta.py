from __future__ import annotations

from aiohttp import web

from runners.web.context import OPENAPI, SETTINGS
from runners.web.replies import Health, json_reply
from runners.web.routing import Endpoint


async def health(request: web.Request) -> web.Response:
    return json_reply(Health(status="ok", adapters=request.app[SETTINGS].adapters.value))


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


ROUTES = (
    Endpoint.get("/health", health, summary="Liveness", tag="meta", auth=False, response=Health),
    Endpoint.get("/api/v1/openapi.json", openapi, summary="This document", tag="meta", auth=False),
)
