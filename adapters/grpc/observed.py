"""A span and the metrics of every gRPC call, at one choke point on each side (docs/grpc.md):

- the server: ``observe_server(server)``, a grpclib ``RecvRequest`` listener that wraps the method of each
  call, so every servicer of a ``Server`` (users, meetings, analysis, media, ...) is covered without a line of
  its own.  The span is a child of the caller's span (W3C ``traceparent``/``tracestate`` in the metadata,
  read by OpenTelemetry's propagator).
- the client: ``client_call(path)`` around each attempt of ``RpcClient`` (adapters/grpc/client.py); the
  attempt's metadata is made inside it, so the ``traceparent`` sent names the client span.

Metrics (adapters/metrics/instruments.py): calls by service, method and status code, and latency in
seconds.  The labels are bounded: a server only dispatches methods of its servicers (grpclib answers
UNIMPLEMENTED before any event), a client only calls the paths written in its adapters.  Span names and
attributes follow OpenTelemetry's RPC conventions (``rpc.system``, ``rpc.service``, ``rpc.method``,
``rpc.grpc.status_code``).  With tracing off the tracer is OpenTelemetry's no-op one: no span object is
made, and the caller's trace context still passes through.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from grpclib import events
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from adapters.metrics import spans
from adapters.metrics.instruments import (
    GRPC_CLIENT_DURATION,
    GRPC_CLIENT_HANDLED,
    GRPC_SERVER_DURATION,
    GRPC_SERVER_HANDLED,
)

tracer = trace.get_tracer("confero.rpc")

# Statuses that are the server's fault (OpenTelemetry's RPC conventions): an error on the server span.
# On the client every status but OK is an error.
SERVER_ERRORS = frozenset({Status.UNKNOWN, Status.DEADLINE_EXCEEDED, Status.UNIMPLEMENTED, Status.INTERNAL,
                           Status.UNAVAILABLE, Status.DATA_LOSS})


@lru_cache(maxsize=256)
def split(path: str) -> tuple[str, str]:
    """``/confero.users.v1.UsersService/Authenticate`` -> ("confero.users.v1.UsersService", "Authenticate")."""
    service, _, method = path.lstrip("/").rpartition("/")
    return service or "unknown", method or "unknown"


@lru_cache(maxsize=256)
def _attributes(path: str) -> dict[str, str]:
    service, method = split(path)
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}


def status_of(exc: BaseException) -> Status:
    """The status a call ends with when its handler (or the transport) raised ``exc``."""
    if isinstance(exc, GRPCError):
        return exc.status
    if isinstance(exc, TimeoutError):
        return Status.DEADLINE_EXCEEDED
    if isinstance(exc, (asyncio.CancelledError, StreamTerminatedError)):
        return Status.CANCELLED
    if isinstance(exc, OSError):
        return Status.UNAVAILABLE
    return Status.UNKNOWN


# -- server ------------------------------------------------------------------------------------------

class _Call:
    """The status a handler sent itself (``send_trailing_metadata``, e.g. a domain error's trailers)."""
    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status: Status | None = None


_serving: ContextVar[_Call | None] = ContextVar("grpc_serving", default=None)


def observe_server(server: Any) -> Any:
    """Every call ``server`` (a grpclib Server) answers gets a SERVER span and its metrics; returns it."""
    events.listen(server, events.RecvRequest, _on_request)
    events.listen(server, events.SendTrailingMetadata, _on_trailers)
    return server


async def _on_request(event: events.RecvRequest) -> None:
    event.method_func = _observed(event.method_name, event.method_func, event.metadata)


async def _on_trailers(event: events.SendTrailingMetadata) -> None:
    call = _serving.get()  # the handler's task: the event is sent from the call being served
    if call is not None:
        call.status = event.status


def _observed(path: str, func: Callable[[Any], Awaitable[None]], metadata: Any) -> Callable[[Any], Awaitable[None]]:
    service, method = split(path)

    async def handler(stream: Any) -> None:
        call = _Call()
        _serving.set(call)
        started = time.perf_counter()
        status = Status.OK
        with spans.span(tracer, path.lstrip("/"), context=propagate.extract(metadata), kind=SpanKind.SERVER,
                        attributes=_attributes(path), record_exception=False,
                        set_status_on_exception=False) as span:
            try:
                await func(stream)
                status = call.status or Status.OK
            except BaseException as exc:
                status = status_of(exc)
                raise
            finally:
                _finish(span, status, status in SERVER_ERRORS)
                GRPC_SERVER_HANDLED.labels(service, method, status.name).inc()
                GRPC_SERVER_DURATION.labels(service, method).observe(time.perf_counter() - started)
    return handler


def _finish(span: Span, status: Status, error: bool) -> None:
    if span.is_recording():
        span.set_attribute("rpc.grpc.status_code", status.value)
        if error:
            span.set_status(StatusCode.ERROR, status.name)


# -- client ------------------------------------------------------------------------------------------

class Attempt:
    """What ``client_call`` yields: set ``status`` when the call ended with one (else OK or the exception's)."""
    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status: Status | None = None


@contextlib.contextmanager
def client_call(path: str, peer: tuple[str, int] | None = None) -> Iterator[Attempt]:
    """One attempt of a call to ``path``: a CLIENT span (current inside, so the metadata made inside carries
    it) and the client metrics.  A call that raises is counted with the status of its exception, unless the
    caller set ``attempt.status`` before (the status a GRPCError carried)."""
    service, method = split(path)
    attempt = Attempt()
    started = time.perf_counter()
    attributes = _attributes(path)
    if peer is not None:
        attributes = {**attributes, "server.address": peer[0], "server.port": peer[1]}
    with spans.span(tracer, path.lstrip("/"), kind=SpanKind.CLIENT, attributes=attributes,
                    record_exception=False, set_status_on_exception=False) as span:
        try:
            yield attempt
        except BaseException as exc:
            attempt.status = attempt.status or status_of(exc)
            raise
        finally:
            status = attempt.status or Status.OK
            _finish(span, status, status is not Status.OK)
            GRPC_CLIENT_HANDLED.labels(service, method, status.name).inc()
            GRPC_CLIENT_DURATION.labels(service, method).observe(time.perf_counter() - started)
