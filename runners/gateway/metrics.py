"""The gateway's request metrics: counts, status classes and latency by the upstream service a request
went to (a bounded set: the registry's service names, "gateway" for its own endpoints, "other" for the
web client's files and unknown paths);
the services themselves measure each route."""

from __future__ import annotations

from aiohttp import web

from adapters.metrics.instruments import GATEWAY_DURATION, GATEWAY_REQUESTS
from runners.gateway.routes import GATEWAY as OWN
from runners.gateway.state import GATEWAY
from runners.observability.http_metrics import measured
from runners.observability.routes import method_label


def upstream_label(request: web.Request) -> str:
    route = request.app[GATEWAY].routes.resolve(request.method, request.path)
    if route is None:
        return "other"
    return route.service if route.service != OWN else "gateway"


gateway_metrics = measured(lambda request: (upstream_label(request), method_label(request.method)),
                           GATEWAY_REQUESTS, GATEWAY_DURATION)
