"""Domain-event feeds for the signaling background task, one per adapter family: both hand the room
service typed DomainEvents (meeting events for the rooms, user events for revoked sessions)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from adapters.memory.events import InMemoryEventBus
from adapters.redis.events import PublishedEvent, RedisStreamSubscriber
from domain.shared.events import DomainEvent, UnknownEvent, event_from_record

log = logging.getLogger(__name__)
Handler = Callable[[DomainEvent], Awaitable[None]]
Feed = Callable[[Handler, asyncio.Event], Awaitable[None]]
RELEVANT = ("meeting.", "user.")


def in_memory_feed(bus: InMemoryEventBus) -> Feed:
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        async def on_event(event: DomainEvent) -> None:
            if event.name.startswith(RELEVANT):
                await handler(event)

        bus.subscribe(on_event)
        await stop.wait()

    return run


def stream_feed(subscriber: RedisStreamSubscriber) -> Feed:
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        async def on_event(record: PublishedEvent) -> None:
            if not record.name.startswith(RELEVANT):
                return
            try:
                event = event_from_record(record.name, record.event_id, record.occurred_at, record.payload)
            except UnknownEvent:
                # A newer publisher's event this process does not know: skipping it loses nothing
                # this process could act on, and retrying would block the events behind it.
                log.warning("skipping an event this process cannot read", extra={"event": record.name})
                return
            await handler(event)

        await subscriber.run(on_event, stop)

    return run
