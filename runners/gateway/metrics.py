"""The gateway's request metrics: counts, status classes and latency by the upstream service a request
went to (a bounded set: the registry's service names, "gateway" for its own endpoints, "other" for the
web client's files and unknown paths);
the services themselves measure each route."""

from __future__ import annotations

import time

from aiohttp import web

from adapters.metrics.instruments import GATEWAY_DURATION, GATEWAY_REQUESTS, HTTP_IN_FLIGHT
from runners.gateway.routes import GATEWAY as OWN
from runners.gateway.state import GATEWAY
from runners.observability.routes import method_label


def upstream_label(request: web.Request) -> str:
    route = request.app[GATEWAY].routes.resolve(request.method, request.path)
    if route is None:
        return "other"
    return route.service if route.service != OWN else "gateway"


@web.middleware
async def gateway_metrics(request: web.Request, handler):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    status = 500
    HTTP_IN_FLIGHT.inc()
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        HTTP_IN_FLIGHT.dec()
        service, method = upstream_label(request), method_label(request.method)
        GATEWAY_REQUESTS.labels(service, method, f"{status // 100}xx").inc()
        if status != 101:  # a relayed WebSocket's lifetime is not a request latency
            GATEWAY_DURATION.labels(service, method).observe(time.perf_counter() - started)
