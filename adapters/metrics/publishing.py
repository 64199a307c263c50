"""An EventPublisher decorator that counts published events, measures the relay lag and opens the
producer span."""

from __future__ import annotations

import datetime as dt

from opentelemetry import trace

from adapters.metrics import spans
from adapters.metrics.event_traces import producer_context
from adapters.metrics.instruments import EVENT_RELAY_LAG, EVENTS_PUBLISHED
from domain.shared.events import DomainEvent
from ports.events import EventPublisher

tracer = trace.get_tracer(__name__)


class MeasuredPublisher:
    """EventPublisher: delegates, then records how long each event waited since it occurred (commit,
    outbox, relay wake-up); a failed publish records nothing (the relay retries it)."""

    def __init__(self, inner: EventPublisher) -> None:
        self._inner = inner

    async def publish(self, *events: DomainEvent) -> None:
        # The span whose context the stream entries carry (adapters/redis/events.py): consumers' spans
        # in any process become its children.  It is itself the child of the request that wrote the
        # events, or linked to those requests (adapters/metrics/event_traces.py).
        parent, links = producer_context(events)
        with spans.span(tracer, "publish events", context=parent, kind=trace.SpanKind.PRODUCER, links=links,
                        attributes={"messaging.batch.message_count": len(events)}):
            await self._inner.publish(*events)
        now = dt.datetime.now(dt.timezone.utc)
        for event in events:
            EVENT_RELAY_LAG.observe(max(0.0, (now - event.occurred_at).total_seconds()))
        EVENTS_PUBLISHED.inc(len(events))
