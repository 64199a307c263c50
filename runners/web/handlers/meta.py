from __future__ import annotations

from aiohttp import web

from runners.web.context import OPENAPI, SETTINGS
from runners.web.routing import routes


@routes.get("/health", summary="Liveness", tag="meta", auth=False, response="Health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "adapters": request.app[SETTINGS].adapters.value})


@routes.get("/api/v1/openapi.json", summary="This document", tag="meta", auth=False)
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])
