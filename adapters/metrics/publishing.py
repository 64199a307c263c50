"""An EventPublisher decorator that counts published events and measures the relay lag."""

from __future__ import annotations

import datetime as dt

from adapters.metrics.instruments import EVENT_RELAY_LAG, EVENTS_PUBLISHED
from domain.shared.events import DomainEvent
from ports.events import EventPublisher


class MeasuredPublisher:
    """EventPublisher: delegates, then records how long each event waited since it occurred (commit,
    outbox, relay wake-up); a failed publish records nothing (the relay retries it)."""

    def __init__(self, inner: EventPublisher) -> None:
        self._inner = inner

    async def publish(self, *events: DomainEvent) -> None:
        await self._inner.publish(*events)
        now = dt.datetime.now(dt.timezone.utc)
        for event in events:
            EVENT_RELAY_LAG.observe(max(0.0, (now - event.occurred_at).total_seconds()))
        EVENTS_PUBLISHED.inc(len(events))
