"""What a process gets of the notification service: the service (for the HTTP routes), the live feed
(for the signaling sockets) and, where this process delivers, its background work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from attrs import frozen

from adapters.memory.events import InMemoryEventBus
from adapters.redis.events import RedisStreamSubscriber
from domain.notifications.dispatch import Dispatcher
from domain.notifications.service import NotificationService
from ports.notifications import LiveNotifications
from runners.containers import resolve
from runners.notifications.container import build_notifications
from runners.settings import AdapterFamily, Settings
from runners.workers.notifications import EventSource, Handler, notification_worker

EVENT_STREAM = "confero:events"  # runners.production.EVENT_STREAM (not imported: it pulls in the family)
GROUP = "notifications"
# Processes that deliver: the all-in-one (tags None) and the notification process.
DELIVERING_TAG = "notifications"


@frozen
class NotificationParts:
    service: NotificationService
    dispatcher: Dispatcher
    live: LiveNotifications
    vapid_public_key: str
    background: tuple[Callable[[web.Application], AsyncIterator[None]], ...]
    closers: tuple[Any, ...]


def _bus_source(bus: InMemoryEventBus) -> EventSource:
    subscribed: list[bool] = []

    async def run(handler: Handler, stop: asyncio.Event) -> None:
        if not subscribed:  # once per process, however often an app starts on it (tests)
            bus.subscribe(handler, name=GROUP)
            subscribed.append(True)
        await stop.wait()

    return run


def _stream_source(subscriber: RedisStreamSubscriber) -> EventSource:
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        await subscriber.run(handler, stop)

    return run


async def notification_parts(settings: Settings, family: Any, tags: set[str] | None) -> NotificationParts:
    container = build_notifications(settings, family)
    service = await resolve(container.service)
    dispatcher = await resolve(container.dispatcher)
    if settings.adapters is AdapterFamily.PRODUCTION:
        source = _stream_source(RedisStreamSubscriber(
            await resolve(family.redis), EVENT_STREAM, GROUP, settings.instance_id, start="$",
            max_attempts=settings.event_max_attempts))
    else:
        source = _bus_source(await resolve(family.events))
    delivering = tags is None or DELIVERING_TAG in tags
    background = (notification_worker(service, dispatcher, source, workers=settings.notify_workers,
                                      instance=settings.instance_id),) if delivering else ()
    closers = tuple(s for s in (await resolve(container.email), await resolve(container.sms),
                                      await resolve(container.push))
                    if hasattr(s, "aclose"))
    return NotificationParts(service=service, dispatcher=dispatcher, live=await resolve(container.adapters.live),
                             vapid_public_key=settings.vapid_public_key, background=background, closers=closers)


async def close_parts(parts: NotificationParts) -> None:
    for closer in parts.closers:
        with contextlib.suppress(Exception):
            await closer.aclose()
