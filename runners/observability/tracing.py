"""OpenTelemetry tracing: configured from the standard OTEL_* variables, off unless asked for.

On when an OTLP endpoint is given (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)
or ``OTEL_SDK_DISABLED=false`` is said explicitly; ``OTEL_SDK_DISABLED=true`` always wins.  Off, the API's
no-op tracer is all that runs: no span objects, no exporter, no library patched.

asyncpg and Redis spans come from the opentelemetry-instrumentation packages.  The HTTP server span does
not: opentelemetry-instrumentation-aiohttp-server replaces ``aiohttp.web.Application`` process-wide and
inserts its middleware into the list the caller passed (our module-level MIDDLEWARES would grow by one per
app), and its middleware reads globals that only that patch sets.  ``http_tracing`` below is the same
span (SERVER kind, W3C context from the headers, route template as the name) in 20 lines.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, StatusCode

from adapters.metrics import spans
from runners.observability.routes import method_label, route_template

tracer = trace.get_tracer("confero")
_configured = False


def enabled(env: Mapping[str, str]) -> bool:
    disabled = env.get("OTEL_SDK_DISABLED", "").strip().lower()
    if disabled == "true":
        return False
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return bool(endpoint) or disabled == "false"


def configure(env: Mapping[str, str], service: str, instance: str) -> bool:
    """Installs the SDK with a batching OTLP/HTTP exporter (it reads the OTEL_* variables itself) and the
    asyncpg and Redis instrumentation.  Returns whether tracing is on.  Once per process."""
    global _configured
    if not enabled(env):
        return False
    if _configured:
        return True
    from runners.observability.sdk import tracer_provider  # the SDK is imported only when tracing is on

    provider = tracer_provider(service if not env.get("OTEL_SERVICE_NAME") else None, instance)
    trace.set_tracer_provider(provider)
    instrument_libraries()
    _configured = True
    return True


def instrument_libraries() -> None:
    """asyncpg and redis-py spans (each instrumentor patches once, however often it is called)."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    AsyncPGInstrumentor().instrument()
    RedisInstrumentor().instrument()


def is_on() -> bool:
    return _configured


def mark_configured() -> None:
    """For tests that install their own TracerProvider (an in-memory exporter)."""
    global _configured
    _configured = True


def server_spans(route_of: Callable[[web.Request], str]) -> Any:
    """The middleware of one SERVER span per request, named ``<method> <route_of(request)>`` (a bounded
    template, never the raw path), a child of the W3C context of the request's headers."""

    @web.middleware
    async def tracing(request: web.Request, handler):  # type: ignore[no-untyped-def]
        route = route_of(request)
        method = method_label(request.method)
        # Unsampled, the statements and commands below make no spans (adapters/metrics/spans.py): without
        # that, a 10% sampler still paid about 20 us per statement and command for spans nobody keeps.
        with spans.span(tracer, f"{method} {route}", context=propagate.extract(request.headers),
                        kind=SpanKind.SERVER, attributes={"http.request.method": method, "http.route": route,
                                                          "url.path": request.path}) as span:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                span.set_attribute("http.response.status_code", exc.status)
                raise
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(StatusCode.ERROR)
            return response

    return tracing


http_tracing = server_spans(route_template)


def ids() -> dict[str, str]:
    """The current trace and span ids (hex, as Jaeger and Grafana show them), or nothing outside a span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def new_root() -> context.Context:
    """A context with no parent: each signaling message is its own trace, not a child of the socket's."""
    return context.Context()


class Traced:
    """A service whose coroutine methods each run in a span named ``<Service>.<method>``: the domain stays
    free of tracing, and the span sits between the HTTP span and the PostgreSQL/Redis ones."""

    def __init__(self, inner: Any, name: str) -> None:
        self._inner = inner
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        if not inspect.iscoroutinefunction(value):
            return value
        span_name = f"{self._name}.{attr}"

        @functools.wraps(value)
        async def call(*args: Any, **kwargs: Any) -> Any:
            # Only inside a sampled trace: background loops (keep-alives, presence) make no traces of their
            # own, and a request the sampler left out pays one check.
            if not trace.get_current_span().is_recording():
                return await value(*args, **kwargs)
            with spans.span(tracer, span_name):
                return await value(*args, **kwargs)

        self.__dict__[attr] = call  # the next lookup skips __getattr__
        return call
