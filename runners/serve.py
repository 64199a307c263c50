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
from runners.web.context import Services
from runners.web.logs import configure
from runners.workers.outbox import outbox_worker

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
                            media=await resolve(container.adapters.media),
                            dead_letters=await resolve(container.dead_letter_service),
                            background=(outbox_worker(await resolve(container.relay),
                                                      await resolve(container.adapters.commit_signal)),))
        if settings.admin_username:
            await services.users.ensure_admin(settings.admin_username, settings.admin_email, settings.admin_password)
        yield container, services
    finally:
        shutdown = family.shutdown_resources()
        if shutdown is not None:
            await shutdown


async def serve(settings: Settings, tags: set[str] | None = None) -> None:
    async with composed(settings) as (_, services):
        app = create_app(services, settings, tags)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info("listening", extra={"host": settings.host, "port": settings.port,
                                     "adapters": settings.adapters.value})
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


def main(tags: set[str] | None = None) -> int:
    """Exit codes: 0 stopped by a signal, 2 bad configuration, 3 a backing server unusable at start."""
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
    return 0
