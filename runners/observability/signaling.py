"""Signaling counters and the span of one message (its own trace, linked to the socket's request)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

from adapters.metrics.instruments import SIGNALING_RATE_LIMITED, SIGNALING_RECEIVED, SIGNALING_SENT
from opentelemetry.instrumentation.utils import suppress_instrumentation

from runners.observability.tracing import new_root, tracer

__all__ = ["SIGNALING_RATE_LIMITED", "SIGNALING_RECEIVED", "SIGNALING_SENT", "message_span"]


@contextlib.contextmanager
def message_span(kind: str) -> Iterator[None]:
    """A socket lives for hours: its messages as children of the upgrade's span would make one endless
    trace, so each message starts a trace of its own with a link back to the socket's."""
    socket = trace.get_current_span().get_span_context()
    links = [Link(socket)] if socket.is_valid else None
    with tracer.start_as_current_span(f"signaling {kind}", context=new_root(), kind=SpanKind.SERVER,
                                      links=links) as span:
        if span.is_recording():
            yield
        else:
            with suppress_instrumentation():
                yield
