"""The gateway's aiohttp application: its own /health, /ready and OpenAPI document, the web client (served
here from the same files and code as the all-in-one: one source, and no upstream needed for it), and
every other request forwarded by ``edge.handle``.

The API's CORS, request-id (with the access log) and error middlewares are reused as they are, so errors
made at the edge have the same JSON body as the services' own.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

from aiohttp import web

from domain.discovery.errors import NoInstanceAvailable
from domain.shared.errors import Unavailable
from runners.app_state import REQUEST_ID, SETTINGS, error_response
from runners.gateway.edge import handle
from runners.gateway.metrics import gateway_metrics
from runners.gateway.state import GATEWAY, Gateway
from runners.gateway.websocket import close_sockets
from runners.observability.registry import Observability
from runners.observability import tracing
from runners.observability.routes import route_template
from runners.web.app import ROUTES
from runners.web.middleware import cors, error_mapping, hide_server_version, request_ids, security_headers
from runners.web.openapi import build_document
from runners.web.static_site import install_static

OPENAPI_DOCUMENT = web.AppKey("gateway_openapi", dict)


@web.middleware
async def unavailable(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except NoInstanceAvailable as err:
        return error_response(503, "service_unavailable", err.message, request.get(REQUEST_ID),
                              {"service": err.details.get("service", "")}, {"Retry-After": "1"})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "role": "gateway"})


async def ready(request: web.Request) -> web.Response:
    """Ready once the registry answered for every service (an empty answer counts: a service with no
    instance gets 503s, which is the registry's truth, not the gateway's fault) and, with APP_ETCD_URL,
    while etcd answers a read.  The same report as every process's /ready (runners/observability)."""
    gateway = request.app[GATEWAY]
    probes = Observability()

    async def registry() -> None:
        if not gateway.upstreams.ready():
            raise Unavailable("the registry has not answered for every service yet")

    probes.add_check("registry", registry)
    if gateway.settings.etcd_url:
        probes.add_check("etcd", functools.partial(gateway.upstreams.registry.instances, "gateway"))
    ok, checks = await probes.readiness()
    return web.json_response({"status": "ready" if ok else "unready", "checks": checks}, status=200 if ok else 503)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_DOCUMENT])


def endpoint_template(request: web.Request) -> str:
    """The API endpoint a request is forwarded to (``/api/v1/meetings/{id}``), else the gateway's own route."""
    route = request.app[GATEWAY].routes.resolve(request.method, request.path)
    return route.path if route is not None and route.path else route_template(request)


def create_gateway_app(gateway: Gateway) -> web.Application:
    hide_server_version()
    # No body size here: bodies are streamed, and each service enforces its own (25 MB AI uploads).
    # With tracing on, a SERVER span per request (outermost: error bodies and log lines carry its ids), whose
    # context the upstream request carries on (proxy.forwarded_headers).
    spans = [tracing.server_spans(endpoint_template)] if tracing.is_on() else []
    app = web.Application(middlewares=[*spans, gateway_metrics, cors, request_ids, error_mapping, unavailable])
    app.on_response_prepare.append(security_headers)
    app[SETTINGS] = gateway.settings
    app[GATEWAY] = gateway
    app[OPENAPI_DOCUMENT] = build_document(ROUTES)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/api/v1/openapi.json", openapi)
    install_static(app)
    app.router.add_route("*", "/{path:.*}", handle)
    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.append(_client)
    app.cleanup_ctx.append(_following)
    return app


async def _client(app: web.Application) -> AsyncIterator[None]:
    gateway = app[GATEWAY]
    gateway.session = gateway.client_session()
    yield
    await gateway.session.close()


async def _following(app: web.Application) -> AsyncIterator[None]:
    async with app[GATEWAY].upstreams.following():
        yield
