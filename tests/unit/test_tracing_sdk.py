"""The SDK as configured (runners/observability/sdk.py): a PostgreSQL statement, Redis command or gRPC call
that no traced work caused makes no trace, the rest follows OTEL_TRACES_SAMPLER; the resource's hash is the
SDK's, computed once."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Decision
from opentelemetry.trace import SpanKind

from runners.observability.sdk import HashedResource, InTracesOnly, tracer_provider


def test_a_client_span_without_a_parent_is_dropped_and_everything_else_exported() -> None:
    exporter = InMemorySpanExporter()
    provider = tracer_provider("confero-test", "i1", exporter=exporter)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as orphan:
        assert not orphan.is_recording()
    with tracer.start_as_current_span("GET /x", kind=SpanKind.SERVER):
        with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT):
            pass
    with tracer.start_as_current_span("publish events", kind=SpanKind.PRODUCER):
        pass
    provider.force_flush()
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["GET /x", "SELECT", "publish events"]
    [span] = [s for s in exporter.get_finished_spans() if s.name == "GET /x"]
    assert span.resource.attributes["service.name"] == "confero-test"
    assert span.resource.attributes["service.instance.id"] == "i1"
    provider.shutdown()


def test_other_spans_are_the_configured_samplers_decision() -> None:
    assert InTracesOnly(ALWAYS_OFF).should_sample(None, 1, "GET /x", SpanKind.SERVER).decision is Decision.DROP
    assert InTracesOnly(ALWAYS_ON).should_sample(None, 1, "GET /x", SpanKind.SERVER).decision is \
        Decision.RECORD_AND_SAMPLE
    assert InTracesOnly(ALWAYS_ON).should_sample(None, 1, "SELECT", SpanKind.CLIENT).decision is Decision.DROP
    assert "AlwaysOnSampler" in InTracesOnly(ALWAYS_ON).get_description()


def test_the_resource_hash_is_the_sdks() -> None:
    plain = Resource.create({"service.name": "s", "service.instance.id": "i"})
    hashed = HashedResource(plain.attributes, plain.schema_url)
    assert hash(hashed) == hash(plain) == hash(hashed) and hashed == plain and hashed == hashed
    assert {hashed: 1}[plain] == 1
