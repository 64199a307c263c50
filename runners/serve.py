"""Process lifecycle shared by every runner: settings -> container -> services -> aiohttp site."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from runners.containers import Application, build, resolve
from domain.shared.errors import DomainError
from runners.settings import ConfigError, Settings
from runners.web.app import create_app
from runners.app_state import Services
from runners.web.guard import ConnectionGuard
from runners.web.logs import configure

log = logging.getLogger("runners")


@asynccontextmanager
async def composed(settings: Settings) -> AsyncIterator[tuple[Application, Services]]:
    """Initialises the container's resources (pools, clients) and shuts them down afterwards."""
    container, family = build(settings)
    init = family.init_resources()
    if init is not None:
        await init
    try:
        services = Services(users=await resolve(container.user_service),
                            meetings=await resolve(container.meeting_service),
                            rooms=await resolve(container.room_service),
                            signal_bus=await resolve(container.adapters.signal_bus),
                            event_feed=await resolve(container.adapters.event_feed),
                            media=await resolve(container.adapters.media))
        if settings.admin_username:
            await services.users.ensure_admin(settings.admin_username, settings.admin_email, settings.admin_password)
        yield container, services
    finally:
        shutdown = family.shutdown_resources()
        if shutdown is not None:
            try:  # each pool and client bounds its own close; this bounds them all
                await asyncio.wait_for(shutdown, 2 * settings.shutdown_timeout)
            except TimeoutError:
                log.error("closing pools and clients did not finish in time")


async def serve(settings: Settings, tags: set[str] | None = None) -> None:
    """Serves until SIGINT/SIGTERM, then stops within about ``APP_SHUTDOWN_TIMEOUT`` seconds per stage:
    listener closed, sockets told to go (1001) and in-flight requests given the timeout, background work
    stopped, then pools and clients closed (each bounded by its own timeout)."""
    async with composed(settings) as (_, services):
        app = create_app(services, settings, tags)
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.http_idle_timeout,
                               shutdown_timeout=settings.shutdown_timeout)
        await runner.setup()
        loop = asyncio.get_running_loop()
        guard = ConnectionGuard(runner.server, per_address=settings.connections_per_address,  # type: ignore[arg-type]
                                total=settings.connections_total, header_timeout=settings.http_header_timeout)
        listener: asyncio.Server | None = None
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            listener = await loop.create_server(guard, settings.host, settings.port, backlog=1024)
            log.info("listening", extra={"host": settings.host, "port": settings.port,
                                         "adapters": settings.adapters.value})
            await stop.wait()
        finally:
            log.info("stopping")
            if listener is not None:
                listener.close()
            try:
                # on_shutdown closes the sockets; shutdown_timeout bounds each request still running; the
                # outer bound covers what neither does (a cleanup that hangs on a dead server).
                await asyncio.wait_for(runner.cleanup(), 3 * settings.shutdown_timeout)
            except TimeoutError:
                log.error("the HTTP server did not stop in time; going on with the shutdown")


def main(tags: set[str] | None = None) -> int:
    """Exit codes: 0 stopped by a signal, 2 bad configuration, 3 a backing server unusable or the address
    taken at start."""
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    configure(settings.log_level, settings.log_format)
    try:
        asyncio.run(serve(settings, tags))
    except DomainError as err:
        print(f"cannot start: {err.message} {err.details}", file=sys.stderr)
        return 3
    except OSError as err:  # the listen address is taken or not ours
        print(f"cannot start: {err}", file=sys.stderr)
        return 3
    return 0
