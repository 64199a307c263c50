"""An event is published in the trace of the request that wrote it: the outbox keeps the writer's
traceparent beside the event, and the relay's "publish events" span is that request's child (one writer)
or a new trace linked to each writer (several); events written outside any trace publish as before."""

from __future__ import annotations

import datetime as dt

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.memory.outbox import InMemoryOutbox
from adapters.metrics import publishing
from adapters.metrics.publishing import MeasuredPublisher
from domain.meetings.events import MeetingCreated
from domain.messaging.relay import OutboxRelay
from domain.shared.events import DomainEvent

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class Published:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    async def publish(self, *events: DomainEvent) -> None:
        self.events.extend(events)


@pytest.fixture
def tracer(monkeypatch):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(publishing, "tracer", provider.get_tracer("test"))
    return provider.get_tracer("test"), exporter


def event() -> MeetingCreated:
    return MeetingCreated(occurred_at=NOW, meeting_id="m", host_id="h")


def relay(outbox: InMemoryOutbox, sink: Published) -> OutboxRelay:
    return OutboxRelay(outbox=outbox, publisher=MeasuredPublisher(sink))


async def test_events_written_in_one_request_are_published_as_its_child(tracer) -> None:
    tracer, exporter = tracer
    outbox, sink = InMemoryOutbox(), Published()
    with tracer.start_as_current_span("POST /api/v1/meetings") as request:
        outbox.append([event(), event()])
    assert await relay(outbox, sink).relay_batch() == 2 and len(sink.events) == 2
    [producer] = [s for s in exporter.get_finished_spans() if s.name == "publish events"]
    assert producer.parent is not None and producer.parent.span_id == request.get_span_context().span_id
    assert producer.context.trace_id == request.get_span_context().trace_id and not producer.links


async def test_events_of_several_requests_are_a_new_trace_linked_to_each(tracer) -> None:
    tracer, exporter = tracer
    outbox, sink = InMemoryOutbox(), Published()
    writers = []
    for name in ("one", "two"):
        with tracer.start_as_current_span(name) as request:
            outbox.append([event()])
            writers.append(request.get_span_context())
    outbox.append([event()])  # written outside any trace
    assert await relay(outbox, sink).relay_batch() == 3
    [producer] = [s for s in exporter.get_finished_spans() if s.name == "publish events"]
    assert producer.parent is None and producer.context.trace_id not in {w.trace_id for w in writers}
    assert sorted(link.context.span_id for link in producer.links) == sorted(w.span_id for w in writers)


async def test_events_written_outside_any_trace_start_one_of_their_own(tracer) -> None:
    _, exporter = tracer
    outbox, sink = InMemoryOutbox(), Published()
    outbox.append([event()])
    assert await relay(outbox, sink).relay_batch() == 1
    [producer] = [s for s in exporter.get_finished_spans() if s.name == "publish events"]
    assert producer.parent is None and not producer.links
    assert outbox.trace_contexts == {}
