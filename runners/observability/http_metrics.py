"""Request counts, errors by status class and latency per route template; the /metrics listener."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

from adapters.metrics.instruments import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS
from runners.observability.routes import method_label, route_template

log = logging.getLogger(__name__)


def measured(labels: Callable[[web.Request], tuple[str, str]], requests: Counter, duration: Histogram) -> Any:
    """A middleware that counts each request under ``labels(request)`` and its status class, and times it
    (a WebSocket's lifetime is not a request latency: upgrades are counted, not timed)."""

    @web.middleware
    async def middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        status = 500  # a handler that raised something else is answered 500 further out
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
            first, second = labels(request)
            requests.labels(first, second, f"{status // 100}xx").inc()
            if status != 101:
                duration.labels(first, second).observe(time.perf_counter() - started)

    return middleware


http_metrics = measured(lambda request: (method_label(request.method), route_template(request)),
                        HTTP_REQUESTS, HTTP_DURATION)


def metrics_handler(refresh: Callable[[], Awaitable[None]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics: the process's registry in Prometheus's text format, after ``refresh`` read the gauges."""

    async def metrics(request: web.Request) -> web.Response:
        await refresh()
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics


def metrics_app(refresh: Callable[[], Awaitable[None]]) -> web.Application:
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(refresh))
    return app


async def start_metrics_listener(host: str, port: int,
                                 refresh: Callable[[], Awaitable[None]]) -> web.AppRunner | None:
    """Serves /metrics on its own address (never through the public app's routes).  A taken port is
    logged and the process serves on without metrics: losing the API over its monitoring would be worse."""
    runner = web.AppRunner(metrics_app(refresh), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as err:
        log.error("metrics listener could not start; /metrics is off in this process",
                  extra={"host": host, "port": port, "error": str(err)})
        await runner.cleanup()
        return None
    log.info("metrics listening", extra={"host": host, "port": port})
    return runner
