from __future__ import annotations

from aiohttp import web

from runners.web.context import OPENAPI, SERVICES, SETTINGS
from runners.web.replies import Health, Ready, json_reply
from runners.web.routing import Endpoint


async def health(request: web.Request) -> web.Response:
    return json_reply(Health(status="ok", adapters=request.app[SETTINGS].adapters.value))


async def ready(request: web.Request) -> web.Response:
    """Every dependency this process was configured with answers; 503 names the one that does not."""
    ok, checks = await request.app[SERVICES].observability.readiness()
    return web.json_response({"status": "ready" if ok else "unready", "checks": checks}, status=200 if ok else 503)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


ROUTES = (
    Endpoint.get("/health", health, summary="Liveness", tag="meta", auth=False, response=Health),
    Endpoint.get("/ready", ready, summary="Readiness: every configured dependency reachable", tag="meta",
                 auth=False, response=Ready, errors=(503,)),
    Endpoint.get("/api/v1/openapi.json", openapi, summary="This document", tag="meta", auth=False),
)
