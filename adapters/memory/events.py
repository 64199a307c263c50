from __future__ import annotations

import collections
import logging
from collections.abc import Awaitable, Callable

from domain.shared.events import DomainEvent

Subscriber = Callable[[DomainEvent], Awaitable[None]]
log = logging.getLogger(__name__)


class InMemoryEventBus:
    """In-process EventPublisher: calls subscribers in order and keeps a bounded history.

    A failing subscriber is logged and does not stop the others or the publisher: the change that
    raised the event is already saved.
    """

    def __init__(self, history: int = 10_000) -> None:
        self.history: collections.deque[DomainEvent] = collections.deque(maxlen=history)
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, *events: DomainEvent) -> None:
        for event in events:
            self.history.append(event)
            for subscriber in self._subscribers:
                try:
                    await subscriber(event)
                except Exception:
                    log.exception("event subscriber failed", extra={"event": event.name})
