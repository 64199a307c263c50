"""An OTLP/HTTP trace receiver for tests: processes started with ``OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url``
post their span batches to it (protobuf, as the SDK's exporter sends them), and it keeps each span in a
plain form: service (the resource's ``service.name``), name, kind, trace, id and parent (hex)."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

KINDS = {Span.SPAN_KIND_SERVER: "SERVER", Span.SPAN_KIND_CLIENT: "CLIENT", Span.SPAN_KIND_INTERNAL: "INTERNAL",
         Span.SPAN_KIND_PRODUCER: "PRODUCER", Span.SPAN_KIND_CONSUMER: "CONSUMER"}


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", self._traces)
        self._server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    async def __aenter__(self) -> OtlpReceiver:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.close()

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        export = ExportTraceServiceRequest.FromString(body)
        for resource in export.resource_spans:
            attributes = {a.key: _value(a.value) for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                for s in scope.spans:
                    self.spans.append({
                        "service": attributes.get("service.name"), "name": s.name, "kind": KINDS.get(s.kind, "?"),
                        "trace": s.trace_id.hex(), "id": s.span_id.hex(), "parent": s.parent_span_id.hex() or None,
                        "attributes": {a.key: _value(a.value) for a in s.attributes}})
        self._arrived.set()
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    async def until(self, condition: Any, timeout: float = 30.0) -> None:
        """Waits for batches until ``condition(spans)`` holds (a bound on waiting, not a timing assertion)."""
        async with asyncio.timeout(timeout):
            while not condition(self.spans):
                self._arrived.clear()
                await self._arrived.wait()
