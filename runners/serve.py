"""Process lifecycle shared by every runner: settings -> container -> services -> aiohttp site."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from aiohttp import web
from grpclib.server import Server as GrpcServer

from ports.inference import InferenceEngine
from runners.ai_composition import analysis_service, with_recording_analysis
from runners.captions import caption_service, with_captions
from runners.containers import Application, build, resolve
from domain.shared.errors import DomainError
from runners.settings import ConfigError, Settings
from runners.web.app import create_app
from runners.app_state import Services
from runners.discovery import Announcement, announced, etcd_registry, instance_of, service_name
from runners.remote import remote_parts, without_database
from runners.media_nodes import media_nodes
from runners.rpc.server import bound_port
from runners.observability import tracing
from runners.observability.wiring import register_adapters, start_metrics, traced_services
from runners.observability.dependencies import register_dependencies
from runners.web.guard import ConnectionGuard
from runners.web.logs import configure
from runners.recording import UnconfiguredRecorder, recording_worker, with_recordings
from runners.workers.outbox import outbox_worker
from runners.notifications.wiring import close_parts, notification_parts
from runners.workers.webhooks import webhook_worker

log = logging.getLogger("runners")
Sidecar = Callable[[Services, Settings], AbstractAsyncContextManager[Any]]


@asynccontextmanager
async def composed(settings: Settings, tags: set[str] | None = None, engine: InferenceEngine | None = None,
                   ) -> AsyncIterator[tuple[Application, Services]]:
    """Initialises the container's resources (pools, clients) and shuts them down afterwards.
    ``engine`` replaces the configured inference engine (tests give a fake one)."""
    container, family = build(settings)
    init = family.init_resources()
    if init is not None:
        await init
    notifications = None
    remote = contextlib.AsyncExitStack()
    try:
        # meetings and users over gRPC where this process does not serve them (runners/remote.py)
        authenticator = await remote.enter_async_context(remote_parts(container, settings, tags))
        # each room's media on a media node instead of this process's SFU (APP_MEDIA_NODES, runners/media_nodes.py)
        await remote.enter_async_context(media_nodes(family, settings, tags))
        recordings = await resolve(container.recording_service)
        recorder = await resolve(container.adapters.recorder)
        recording_work = recording_worker(recordings, recover=not isinstance(recorder, UnconfiguredRecorder),
                                          timeout=settings.shutdown_timeout)
        notifications = await notification_parts(settings, family, tags)
        async with analysis_service(settings, container, engine) as (analysis, _), \
                caption_service(settings, container, analysis) as captions:
            services = Services(users=await resolve(container.user_service),
                                meetings=await resolve(container.meeting_service),
                                rooms=await resolve(container.room_service),
                                signal_bus=await resolve(container.adapters.signal_bus),
                                event_feed=with_captions(_with_data_handlers(
                                    await resolve(container.adapters.event_feed), recordings, analysis, settings),
                                    captions),
                                media=await resolve(container.adapters.media),
                                dead_letters=await resolve(container.dead_letter_service),
                                links=await resolve(container.link_service),
                                webhooks=await resolve(container.webhook_admin),
                                background=(outbox_worker(await resolve(container.relay),
                                                          await resolve(container.adapters.commit_signal)),
                                            webhook_worker(await resolve(container.webhook_dispatcher),
                                                           await resolve(container.webhook_deliverer),
                                                           await resolve(container.adapters.webhook_feed),
                                                           await resolve(container.webhook_sender),
                                                           poll_seconds=settings.webhook_poll_seconds),
                                            recording_work, *notifications.background),
                                recordings=recordings, notifications=notifications, analysis=analysis,
                                captions=captions, remote_authenticator=authenticator)
            await register_adapters(services.observability, family, services)
            await register_dependencies(services.observability, family, services, settings)
            if tracing.is_on():
                services = traced_services(services)
            if settings.admin_username and not without_database(settings):  # the users service makes it
                await services.users.ensure_admin(settings.admin_username, settings.admin_email,
                                                  settings.admin_password)
            yield container, services
    finally:
        if notifications is not None:
            await close_parts(notifications)
        await remote.aclose()
        await _close_signal_bus(container, settings.shutdown_timeout)
        shutdown = family.shutdown_resources()
        if shutdown is not None:
            try:  # each pool and client bounds its own close; this bounds them all
                await asyncio.wait_for(shutdown, 2 * settings.shutdown_timeout)
            except TimeoutError:
                log.error("closing pools and clients did not finish in time")


def _with_data_handlers(feed: Any, recordings: Any, analysis: Any, settings: Settings) -> Any:
    """The event feed's handlers that act on this process's data (recordings stop with their meeting,
    finished ones are analysed); a process without a database has none of that data."""
    if without_database(settings):
        return feed
    return with_recording_analysis(with_recordings(feed, recordings), analysis, settings)


# What a process without a database may serve (runners/production.py's RemoteDataAdapters): its rooms and
# media come from Redis and the other services; recordings need the database and are left out.
WITHOUT_DATABASE = frozenset({"signaling", "media", "meta"})


def _database_tags(settings: Settings, tags: set[str] | None) -> set[str] | None:
    """``tags`` for a process without a database (recordings dropped); ConfigError if it serves data."""
    if not without_database(settings):
        return tags
    serving = {"every route"} if tags is None else tags - WITHOUT_DATABASE - {"recordings"}
    if serving:
        raise ConfigError(f"APP_POSTGRES_DSN is required by a process that serves {', '.join(sorted(serving))}")
    log.info("no database: recordings are served by the processes that have one")
    return tags - {"recordings"}


async def _close_signal_bus(container: Application, timeout: float) -> None:
    """The Redis signal bus's reader reconnects when its connection drops, so closing the Redis client
    under it left it running (and holding a connection) after every other part had stopped, until
    asyncio.run's final cancellation, which it did not always obey.  Stop it first, bounded.
    (It is a Singleton, not a Resource, so shutdown_resources does not know it.)"""
    aclose = getattr(await resolve(container.adapters.signal_bus), "aclose", None)
    if aclose is None:
        return
    try:
        await asyncio.wait_for(aclose(), timeout)
    except TimeoutError:
        log.error("the signal bus did not close in time")


async def serve(settings: Settings, tags: set[str] | None = None, sidecar: Sidecar | None = None,
                name: str = "allinone") -> None:
    """Serves until SIGINT/SIGTERM, then stops within about ``APP_SHUTDOWN_TIMEOUT`` seconds per stage:
    (with APP_ETCD_URL) marked draining for APP_DRAIN_SECONDS and deregistered, listener closed, sockets
    told to go (1001) and in-flight requests given the timeout, background work stopped, then pools and
    clients closed (each bounded by its own timeout).  ``name``: the service in the registry."""
    async with composed(settings, tags) as (_, services), contextlib.AsyncExitStack() as sidecars:
        app = create_app(services, settings, tags)
        registry = await sidecars.enter_async_context(etcd_registry(settings, services.observability))
        grpc_port = None
        if sidecar is not None:  # another server of the process (runners.ai's gRPC), stopped after HTTP
            server = await sidecars.enter_async_context(sidecar(services, settings))
            if isinstance(server, GrpcServer):
                grpc_port = bound_port(server)
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.http_idle_timeout,
                               shutdown_timeout=settings.shutdown_timeout)
        await runner.setup()
        metrics = await start_metrics(settings.metrics_host, settings.metrics_port, services.observability, app)
        loop = asyncio.get_running_loop()
        guard = ConnectionGuard(runner.server, per_address=settings.connections_per_address,  # type: ignore[arg-type]
                                total=settings.connections_total, header_timeout=settings.http_header_timeout)
        listener: asyncio.Server | None = None
        announcement: Announcement | None = None
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stopping, stop, settings.shutdown_timeout)
        try:
            listener = await loop.create_server(guard, settings.host, settings.port, backlog=1024)
            log.info("listening", extra={"host": settings.host, "port": settings.port,
                                         "adapters": settings.adapters.value})
            http_port = listener.sockets[0].getsockname()[1]
            announcement = await sidecars.enter_async_context(
                announced(registry, instance_of(settings, name, http_port, grpc_port), settings))
            await stop.wait()
        finally:
            log.info("stopping")
            if announcement is not None:  # callers go elsewhere before this process stops answering
                await announcement.leave(settings.shutdown_timeout)
            if listener is not None:
                listener.close()
            try:
                # on_shutdown closes the sockets; shutdown_timeout bounds each request still running; the
                # outer bound covers what neither does (a cleanup that hangs on a dead server).
                await asyncio.wait_for(runner.cleanup(), 3 * settings.shutdown_timeout)
            except TimeoutError:
                log.error("the HTTP server did not stop in time; going on with the shutdown")
            if metrics is not None:
                await metrics.cleanup()


_watchdog: asyncio.Task[None] | None = None


def _stopping(stop: asyncio.Event, every: float) -> None:
    global _watchdog
    stop.set()
    if _watchdog is None:
        _watchdog = asyncio.get_running_loop().create_task(_report_stragglers(every), name="shutdown-watchdog")


async def _report_stragglers(every: float) -> None:
    """While a stop takes longer than expected, say what it is waiting for (task names and where they are)."""
    while True:
        await asyncio.sleep(every)
        me = asyncio.current_task()
        waiting = []
        for task in asyncio.all_tasks():
            if task is me or task.done():
                continue
            frames = task.get_stack(limit=1)
            where = f"{frames[0].f_code.co_filename}:{frames[0].f_lineno}" if frames else "?"
            waiting.append(f"{task.get_name()} at {where}")
        log.warning("still stopping", extra={"waiting_for": sorted(waiting)})


async def _run(settings: Settings, tags: set[str] | None, sidecar: Sidecar | None = None,
               name: str = "allinone") -> None:
    """serve(), then the tasks that outlived it (a client's reader that nobody closed) are cancelled and
    given APP_SHUTDOWN_TIMEOUT; asyncio.run would otherwise wait for them without a bound."""
    extra: dict[str, Any] = {}  # only what differs from serve()'s defaults
    if sidecar is not None:
        extra["sidecar"] = sidecar
    if name != "allinone":
        extra["name"] = name
    try:
        await serve(settings, tags, **extra)
    finally:
        me = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not me and t is not _watchdog and not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            _, pending = await asyncio.wait(leftovers, timeout=settings.shutdown_timeout)
            if pending:
                # asyncio.run would wait for them without a bound: the stop must end, so end the process.
                log.error("tasks ignored their cancellation; exiting without them",
                          extra={"tasks": sorted(t.get_name() for t in pending)})
                logging.shutdown()
                os._exit(1)
        if _watchdog is not None:
            _watchdog.cancel()


def main(tags: set[str] | None = None, service: str = "confero-allinone",
         port: Callable[[Settings], int] | None = None, sidecar: Sidecar | None = None) -> int:
    """Exit codes: 0 stopped by a signal, 1 stopped but a task would not end, 2 bad configuration, 3 a
    backing server unusable or the address taken at start.  ``service`` names the process in logs and
    traces (OTEL_SERVICE_NAME overrides it)."""
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    if port is not None:
        settings = settings.model_copy(update={"port": port(settings)})
    name = service_name(service)
    service = os.environ.get("OTEL_SERVICE_NAME") or service
    configure(settings.log_level, settings.log_format, service, settings.instance_id)
    try:
        tags = _database_tags(settings, tags)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    if tracing.configure(os.environ, service, settings.instance_id):
        log.info("tracing on: spans go to the OTLP endpoint of the OTEL_* variables")
    try:
        asyncio.run(_run(settings, tags, sidecar, name))
    except DomainError as err:
        print(f"cannot start: {err.message} {err.details}", file=sys.stderr)
        return 3
    except OSError as err:  # the listen address is taken or not ours
        print(f"cannot start: {err}", file=sys.stderr)
        return 3
    return 0
