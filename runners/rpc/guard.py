"""What every service-to-service servicer does around each method (docs/grpc.md): the service secret
checked first (UNAUTHENTICATED without it), the caller's request id made current (its W3C trace context is
made current around every call by adapters.grpc.observed, see runners.rpc.server.serving),
and a domain error sent as its status with its class and details in the trailing metadata, so the
client adapter raises the same error (adapters/grpc/wire.py)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from grpclib.const import Handler, Status
from grpclib.exceptions import GRPCError
from opentelemetry import trace

from adapters.grpc.wire import (
    REQUEST_ID,
    clean_request_id,
    current_request_id,
    error_trailers,
    service_token_ok,
)
from domain.shared.errors import DomainError
from domain.shared.ids import is_valid_id


def invalid(message: str) -> GRPCError:
    return GRPCError(Status.INVALID_ARGUMENT, f"invalid_request: {message}")


def valid_id(value: str, name: str) -> str:
    if not is_valid_id(value):
        raise invalid(f"{name} is not a valid id")
    return value


async def send_domain_error(stream: Any, err: DomainError) -> None:
    """Ends the call with the error's status, and its class and details in the trailing metadata."""
    status, message, metadata = error_trailers(err)
    await stream.send_trailing_metadata(status=status, status_message=message, metadata=metadata)


class ServiceGuard:
    """Mixed into a generated ``...Base`` servicer (first in the bases) with the accepted secrets."""

    service_secrets: tuple[str, ...] = ()

    def __mapping__(self) -> dict[str, Handler]:
        return {path: Handler(self._guarded(path, h.func), h.cardinality, h.request_type, h.reply_type)
                for path, h in super().__mapping__().items()}  # type: ignore[misc]

    def _guarded(self, path: str, func: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        async def handler(stream: Any) -> None:
            ok = service_token_ok(stream.metadata, self.service_secrets)
            if not ok:
                raise GRPCError(Status.UNAUTHENTICATED, "missing_credentials: send 'x-service-token'" if ok is None
                                else "invalid_service_token: unknown service token")
            request_id = clean_request_id(stream.metadata.get(REQUEST_ID)) or uuid.uuid4().hex
            rid = current_request_id.set(request_id)
            # The call's span (and its parent from the caller's traceparent) is adapters.grpc.observed's.
            trace.get_current_span().set_attribute("request.id", request_id)
            try:
                await func(stream)
            except DomainError as err:
                await send_domain_error(stream, err)
            finally:
                current_request_id.reset(rid)
        return handler
