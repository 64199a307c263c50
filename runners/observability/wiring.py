"""What the composition root calls: the adapters' checks and scrape hooks, and the app's middlewares
and /metrics listener.  A future service process calls ``register_adapters`` in its composition and
gets the rest from ``runners.serve``."""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from adapters.metrics import instruments as m
from runners.observability import tracing
from runners.observability.http_metrics import http_metrics, start_metrics_listener
from runners.observability.registry import Observability


async def register_adapters(observability: Observability, family: Any, services: Any) -> None:
    """Checks and hooks for what this adapter family holds: PostgreSQL and Redis when configured, the
    dead letters, the SFU; with tracing on, the domain services run in spans of their own."""
    providers = getattr(family, "providers", {})
    pool = await _resolved(family.pool) if "pool" in providers else None
    if pool is not None:  # None: a process without a database (runners/production.py, RemoteDataAdapters)
        from adapters.postgres import observed as pg

        observability.add_check("postgresql", functools.partial(pg.ready, pool))
        observability.on_scrape(functools.partial(pg.scrape, pool))
    if "redis" in providers:
        from adapters.redis import observed as rd

        observability.add_check("redis", functools.partial(rd.ready, await _resolved(family.redis)))
    if "dead_letters" in providers:
        letters = await _resolved(family.dead_letters)
        observability.on_scrape(functools.partial(_dead_letters, letters))
    from adapters.webrtc.sfu import AiortcMediaServer

    if isinstance(services.media, AiortcMediaServer):
        from adapters.webrtc import observed as sfu

        observability.on_scrape(functools.partial(sfu.scrape, services.media))
        sfu.count_nacks()


async def _dead_letters(letters: Any) -> None:
    m.DEAD_LETTERS.set(await letters.count())


async def _resolved(provider: Any) -> Any:
    from runners.containers import resolve

    return await resolve(provider)


def traced_services(services: Any) -> Any:
    """The same Services with the use-case services wrapped in spans (only when tracing is on)."""
    import attrs

    return attrs.evolve(services, users=tracing.Traced(services.users, "UserService"),
                        meetings=tracing.Traced(services.meetings, "MeetingService"),
                        rooms=tracing.Traced(services.rooms, "RoomService"),
                        dead_letters=tracing.Traced(services.dead_letters, "DeadLetterService"))


def middlewares(metrics_on: bool) -> list[Any]:
    """Outermost first: the span covers everything (access log lines carry its ids), then the timing."""
    chain: list[Any] = []
    if tracing.is_on():
        chain.append(tracing.http_tracing)
    if metrics_on:
        chain.append(http_metrics)
    return chain


def observe(app: web.Application, metrics_on: bool) -> None:
    """Puts the observability middlewares in front of the app's own (before the app starts)."""
    app.middlewares[0:0] = middlewares(metrics_on)


async def start_metrics(host: str, port: int, observability: Observability, app: web.Application) -> web.AppRunner | None:
    """The /metrics listener of a process (None when APP_METRICS_PORT=0 or the port is taken)."""
    if not port:
        return None

    async def refresh() -> None:
        _signaling_gauges(app)
        await observability.refresh()

    return await start_metrics_listener(host, port, refresh)


def _signaling_gauges(app: web.Application) -> None:
    from runners.signaling.context import HUB

    hub = app.get(HUB)
    if hub is None:
        return
    m.SIGNALING_SOCKETS.set(len(hub.connections))
    m.SIGNALING_ROOMS.set(len({room for _, room in hub.local_members()}))
