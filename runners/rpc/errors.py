"""The only place that knows gRPC status codes: domain errors -> GRPCError, and undecodable messages."""

from __future__ import annotations

from typing import Any

from grpclib.const import Status
from grpclib.encoding.proto import ProtoCodec
from grpclib.exceptions import GRPCError

from domain.shared.errors import DomainError, ErrorKind

GRPC_STATUS = {
    ErrorKind.NOT_FOUND: Status.NOT_FOUND,
    ErrorKind.ALREADY_EXISTS: Status.ALREADY_EXISTS,
    ErrorKind.INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
    ErrorKind.FAILED_PRECONDITION: Status.FAILED_PRECONDITION,
    ErrorKind.PERMISSION_DENIED: Status.PERMISSION_DENIED,
    ErrorKind.UNAUTHENTICATED: Status.UNAUTHENTICATED,
    ErrorKind.RESOURCE_EXHAUSTED: Status.RESOURCE_EXHAUSTED,
    ErrorKind.CONFLICT: Status.ABORTED,
    ErrorKind.UNAVAILABLE: Status.UNAVAILABLE,
}


def to_grpc(err: DomainError) -> GRPCError:
    """The message starts with the stable code ("analysis_not_found: ..."), as HTTP's error.code."""
    reason = err.details.get("reason")
    suffix = f" (reason: {reason})" if reason else ""
    return GRPCError(GRPC_STATUS[err.kind], f"{err.code or 'error'}: {err.message}{suffix}")


class CheckedProtoCodec(ProtoCodec):
    """A message that does not parse is the client's fault: INVALID_ARGUMENT, not an application error."""

    def decode(self, data: bytes, message_type: Any) -> Any:
        try:
            return super().decode(data, message_type)
        except Exception as exc:
            raise GRPCError(Status.INVALID_ARGUMENT, f"malformed_message: {type(exc).__name__}") from None
