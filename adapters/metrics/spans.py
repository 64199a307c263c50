"""The one way this project opens a span of its own (HTTP, gRPC, events, use cases, signaling messages).

``tracer.start_as_current_span`` on a module-level tracer is three nested context managers (the API's
proxy tracer, the SDK's, ``use_span``); ``start_span`` + ``use_span`` is one.  And in a span the sampler
left out, the asyncpg and Redis instrumentations make no spans at all (``suppress_instrumentation``):
without it each statement and command below an unsampled request still built its attributes and a
non-recording span, about 20 us apiece.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import Link, Span, SpanKind


@contextlib.contextmanager
def span(tracer: trace.Tracer, name: str, *, context: Context | None = None, kind: SpanKind = SpanKind.INTERNAL,
         attributes: dict[str, Any] | None = None, links: Sequence[Link] | None = None,
         record_exception: bool = True, set_status_on_exception: bool = True) -> Iterator[Span]:
    """``name`` as the current span until the block ends (a child of ``context``, else of the current one)."""
    current = tracer.start_span(name, context, kind, attributes, links)
    with trace.use_span(current, end_on_exit=True, record_exception=record_exception,
                        set_status_on_exception=set_status_on_exception):
        if current.is_recording():
            yield current
        else:
            with suppress_instrumentation():
                yield current
