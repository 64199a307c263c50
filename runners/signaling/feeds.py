"""Domain-event feeds for the signaling background task, one per adapter family: both hand the room
service typed DomainEvents (meeting events for the rooms, user events for revoked sessions)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from adapters.memory.events import InMemoryEventBus
from adapters.redis.events import RedisStreamSubscriber
from domain.shared.events import DomainEvent

Handler = Callable[[DomainEvent], Awaitable[None]]
Feed = Callable[[Handler, asyncio.Event], Awaitable[None]]
RELEVANT = ("meeting.", "user.", "recording.")


def _relevant(handler: Handler) -> Handler:
    async def on_event(event: DomainEvent) -> None:
        if event.name.startswith(RELEVANT):
            await handler(event)

    return on_event


def in_memory_feed(bus: InMemoryEventBus) -> Feed:
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        bus.subscribe(_relevant(handler))
        await stop.wait()

    return run


def stream_feed(subscriber: RedisStreamSubscriber) -> Feed:
    """The subscriber decodes each record into its typed event (an undecodable one goes to the dead
    letters there, so it neither blocks the events behind it nor is lost)."""
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        await subscriber.run(_relevant(handler), stop)

    return run
