from __future__ import annotations

from typing import Protocol

from domain.shared.events import DomainEvent


class EventPublisher(Protocol):
    """Publishes domain events after the change that raised them was saved.

    Delivery is at-least-once and in order per publisher call; subscribers must be idempotent
    (events carry ``event_id``).  May raise Unavailable; the change itself stays saved.
    """

    async def publish(self, *events: DomainEvent) -> None: ...
