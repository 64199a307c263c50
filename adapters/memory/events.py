from __future__ import annotations

import collections
import logging
from collections.abc import Awaitable, Callable

from domain.shared.events import DomainEvent

Subscriber = Callable[[DomainEvent], Awaitable[None]]
log = logging.getLogger(__name__)


class InMemoryEventBus:
    """In-process EventPublisher with at-least-once, in-order delivery per subscriber.

    Each subscriber has its own queue; an event leaves it only after the subscriber handled it.  A
    failing subscriber is logged and keeps its event at the front (retried on the next ``publish`` or
    ``deliver``) without stopping the others or the publisher: the change that raised it is saved.
    """

    def __init__(self, history: int = 10_000) -> None:
        self.history: collections.deque[DomainEvent] = collections.deque(maxlen=history)
        self._queues: list[tuple[Subscriber, collections.deque[DomainEvent]]] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._queues.append((subscriber, collections.deque()))

    async def publish(self, *events: DomainEvent) -> None:
        self.history.extend(events)
        for _, queue in self._queues:
            queue.extend(events)
        await self.deliver()

    async def deliver(self) -> None:
        for subscriber, queue in self._queues:
            while queue:
                try:
                    await subscriber(queue[0])
                except Exception:
                    log.exception("event subscriber failed; will retry", extra={"event": queue[0].name})
                    break
                queue.popleft()
