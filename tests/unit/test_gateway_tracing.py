"""With tracing on, the gateway makes a SERVER span per request named after the API endpoint it forwards to,
and the upstream receives that span as its W3C traceparent (one trace from the edge to the services); the
gateway's own error bodies name the trace next to the request id.  Off, a client's traceparent passes
through untouched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from runners.observability import tracing
from tests.unit.gateway_support import Mesh, access_token, mesh  # noqa: F401  (fixture)

API = "/api/v1"
CLIENT_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def echo() -> web.Application:
    async def meeting(request: web.Request) -> web.Response:
        return web.json_response({k.lower(): v for k, v in request.headers.items()})

    app = web.Application()
    app.router.add_get(f"{API}/meetings/{{id}}", meeting)
    return app


@pytest.fixture
def m(mesh: Mesh) -> Mesh:  # noqa: F811
    return mesh


@pytest.fixture
def spans(monkeypatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on with a tracer of its own (the process-wide provider stays the no-op one)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", provider.get_tracer("test"))
    monkeypatch.setattr(tracing, "_configured", True)
    yield exporter


async def test_a_forwarded_request_is_a_gateway_span_whose_context_the_upstream_receives(spans, m: Mesh) -> None:
    await m.start_gateway()
    await m.start("meetings", "m1", echo())
    async with m.session.get(f"{m.url}{API}/meetings/abc",
                                headers={"Authorization": f"Bearer {access_token()}",
                                         "traceparent": CLIENT_PARENT}) as r:
        assert r.status == 200
        sent = await r.json()
    [span] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert span.name == f"GET {API}/meetings/{{id}}" and span.attributes["http.response.status_code"] == 200
    assert span.parent is not None and format(span.parent.span_id, "016x") == "b7ad6b7169203331"  # the client's
    trace_id, span_id = format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert sent["traceparent"] == f"00-{trace_id}-{span_id}-01"  # the upstream's spans are the gateway's children


async def test_an_error_made_at_the_gateway_names_its_trace_next_to_the_request_id(spans, m: Mesh) -> None:
    await m.start_gateway()
    async with m.session.get(f"{m.url}{API}/meetings/abc",
                                headers={"Authorization": f"Bearer {access_token()}"}) as r:
        assert r.status == 503  # no meetings instance
        error = (await r.json())["error"]
    [span] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert error["request_id"] and error["trace_id"] == format(span.context.trace_id, "032x")
    assert error["span_id"] == format(span.context.span_id, "016x")


async def test_with_tracing_off_the_clients_traceparent_passes_through(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("meetings", "m1", echo())
    async with m.session.get(f"{m.url}{API}/meetings/abc",
                                headers={"Authorization": f"Bearer {access_token()}",
                                         "traceparent": CLIENT_PARENT}) as r:
        assert (await r.json())["traceparent"] == CLIENT_PARENT
