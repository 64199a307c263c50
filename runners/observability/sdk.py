"""The OpenTelemetry SDK as this project configures it (imported only when tracing is on): a batching
OTLP/HTTP exporter that reads the OTEL_* variables itself, the sampler of OTEL_TRACES_SAMPLER without
orphan client spans, and a resource whose hash is computed once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult, _get_from_env_or_default
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

_DROP = SamplingResult(Decision.DROP)


class InTracesOnly(Sampler):
    """The sampler of OTEL_TRACES_SAMPLER, except that a CLIENT span with no parent (a PostgreSQL statement,
    a Redis command or a gRPC call that no request, message or event caused: the relay's polls, the stream
    readers' blocking reads, keep-alives) is dropped.  Those made one-span traces nobody looks for, each
    costing what a request's span costs to record and export."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None, trace_state: TraceState | None = None) -> SamplingResult:
        if kind is SpanKind.CLIENT and not trace.get_current_span(parent_context).get_span_context().is_valid:
            return _DROP
        return self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"InTracesOnly{{{self.inner.get_description()}}}"


class HashedResource(Resource):
    """``Resource.__hash__`` serialises every attribute to JSON, and the OTLP exporter hashes the resource of
    every span it encodes (it groups spans by resource): a few us per span for a value that never changes
    (a Resource is immutable).  This one computes it once."""

    _hash: int | None = None

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = super().__hash__()
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or super().__eq__(other)


def tracer_provider(service: str | None, instance: str, *, exporter: Any = None) -> TracerProvider:
    """``service``: the service.name unless OTEL_SERVICE_NAME says it (None); ``exporter``: OTLP/HTTP unless
    a test gives another."""
    attributes = {"service.instance.id": instance}
    if service:
        attributes["service.name"] = service
    created = Resource.create(attributes)
    provider = TracerProvider(resource=HashedResource(created.attributes, created.schema_url),
                              sampler=InTracesOnly(_get_from_env_or_default()))
    provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter()))
    return provider
