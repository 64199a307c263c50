"""Meeting-event feeds for the signaling background task, one per adapter family."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.memory.events import InMemoryEventBus
from adapters.redis.events import PublishedEvent, RedisStreamSubscriber
from domain.shared.events import DomainEvent

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


def in_memory_feed(bus: InMemoryEventBus) -> Callable[[Handler, asyncio.Event], Awaitable[None]]:
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        async def on_event(event: DomainEvent) -> None:
            if event.name.startswith("meeting."):
                await handler(event.name, event.payload())

        bus.subscribe(on_event)
        await stop.wait()

    return run


def stream_feed(subscriber: RedisStreamSubscriber) -> Callable[[Handler, asyncio.Event], Awaitable[None]]:
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        async def on_event(event: PublishedEvent) -> None:
            if event.name.startswith("meeting."):
                await handler(event.name, dict(event.payload))

        await subscriber.run(on_event, stop)

    return run
