"""The trace of the request that wrote each outbox row, carried to the relay's producer span (issue 15).

A unit of work stores the W3C ``traceparent`` of the span it commits in (``current_traceparent``) in the
outbox row beside the event (column ``trace_context``).  The outbox's ``claim`` hands the relay the rows'
contexts through ``claimed`` (a context variable of the relay's task, so the port and the domain's relay
stay as they are), and ``MeasuredPublisher`` opens the "publish events" span under them:

- every event of the batch written in one trace: the producer span is that request's child, so the
  consumers' spans (children of the producer through the stream entries) are in the request's trace;
- several traces: a new trace with a link to each;
- none (tracing off when written, or rows written before migration 0014): a new trace, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from domain.shared.events import DomainEvent

_W3C = TraceContextTextMapPropagator()
_claimed: ContextVar[Mapping[str, str]] = ContextVar("outbox_trace_contexts", default={})


def current_traceparent() -> str | None:
    """The ``traceparent`` of the current span (sampled or not), None outside any span or with tracing off."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get("traceparent")


def claimed(pairs: Iterable[tuple[str, str | None]]) -> None:
    """Called by an outbox's ``claim`` with (event id, traceparent) of the records it hands out."""
    _claimed.set({event_id: parent for event_id, parent in pairs if parent})


def producer_context(events: Sequence[DomainEvent]) -> tuple[Context | None, list[Link]]:
    """The parent context and links of the span that publishes ``events`` (see the module's docstring)."""
    written = _claimed.get()
    parents = {written.get(e.event_id) for e in events}
    if len(parents) == 1 and None not in parents:
        return _W3C.extract({"traceparent": parents.pop()}), []  # type: ignore[dict-item]
    links = []
    for parent in sorted(p for p in parents if p):
        context = trace.get_current_span(_W3C.extract({"traceparent": parent})).get_span_context()
        if context.is_valid:
            links.append(Link(context))
    return Context(), links
