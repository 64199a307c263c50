"""`python -m runners.gateway`: the gateway on APP_GATEWAY_PORT (8800), forwarding /api/v1/* and
/ws/signaling to the instances registered in etcd (APP_ETCD_URL).  Exit codes as every runner's: 2 bad
configuration, 3 the registry or the address unusable at start."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from aiohttp import web

from domain.shared.errors import DomainError
from runners.containers import resolve
from runners.gateway.app import create_gateway_app
from runners.gateway.container import GatewayContainer
from runners.observability import tracing
from runners.observability.http_metrics import start_metrics_listener
from runners.settings import ConfigError, Settings
from runners.web.logs import configure

log = logging.getLogger("runners.gateway")


async def serve(settings: Settings) -> None:
    container = GatewayContainer(settings=settings)
    init = container.init_resources()
    if init is not None:
        await init
    try:
        app = create_gateway_app(await resolve(container.gateway))
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.http_idle_timeout,
                               shutdown_timeout=settings.shutdown_timeout)
        await runner.setup()
        metrics = None
        if settings.metrics_port:  # /metrics on its own listener (APP_METRICS_HOST:APP_METRICS_PORT), never public
            metrics = await start_metrics_listener(settings.metrics_host, settings.metrics_port, _nothing_to_refresh)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await web.TCPSite(runner, settings.host, settings.gateway_port, backlog=1024).start()
            log.info("listening", extra={"host": settings.host, "port": settings.gateway_port,
                                         "registry": "etcd" if settings.etcd_url else "memory"})
            await stop.wait()
        finally:
            log.info("stopping")
            await asyncio.wait_for(runner.cleanup(), 3 * settings.shutdown_timeout)
            if metrics is not None:
                await metrics.cleanup()
    finally:
        shutdown = container.shutdown_resources()
        if shutdown is not None:
            await shutdown


async def _nothing_to_refresh() -> None:
    """The gateway's metrics are counted as requests pass; no gauge is read at scrape time."""


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    service = os.environ.get("OTEL_SERVICE_NAME") or "confero-gateway"
    configure(settings.log_level, settings.log_format, service, settings.instance_id)
    if tracing.configure(os.environ, service, settings.instance_id):
        log.info("tracing on: spans go to the OTLP endpoint of the OTEL_* variables")
    if not os.environ.get("APP_JWT_SECRET"):
        log.warning("APP_JWT_SECRET is not set: tokens issued by the services will all be refused")
    try:
        asyncio.run(serve(settings))
    except (DomainError, OSError) as err:
        print(f"cannot start: {err}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
