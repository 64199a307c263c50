"""Signaling counters and the span of one message (its own trace, linked to the socket's request)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

from adapters.metrics import spans
from adapters.metrics.instruments import SIGNALING_RATE_LIMITED, SIGNALING_RECEIVED, SIGNALING_SENT
from runners.observability import tracing
from runners.observability.tracing import new_root

__all__ = ["SIGNALING_RATE_LIMITED", "SIGNALING_RECEIVED", "SIGNALING_SENT", "message_span"]


@contextlib.contextmanager
def message_span(kind: str) -> Iterator[None]:
    """A socket lives for hours: its messages as children of the upgrade's span would make one endless
    trace, so each message starts a trace of its own with a link back to the socket's."""
    socket = trace.get_current_span().get_span_context()
    links = [Link(socket)] if socket.is_valid else None
    with spans.span(tracing.tracer, f"signaling {kind}", context=new_root(), kind=SpanKind.SERVER, links=links):
        yield
