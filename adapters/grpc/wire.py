"""What every confero gRPC server and client agree on (docs/grpc.md): status codes of domain errors, the
trailing metadata that brings the same error class back to the caller, the service secret, request ids
and W3C trace context in metadata, and the codec that turns undecodable messages into INVALID_ARGUMENT.

The servers (runners/rpc) and the client adapters (adapters/grpc) both use this module, so the mapping
is written once and a round trip gives back an equal error.
"""

from __future__ import annotations

import hmac
import importlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from grpclib.const import Status
from grpclib.encoding.proto import ProtoCodec
from grpclib.exceptions import GRPCError
from opentelemetry import propagate

from domain.shared.errors import (
    AlreadyExists,
    ConcurrentModification,
    DomainError,
    ErrorKind,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
)

SERVICE_TOKEN = "x-service-token"
REQUEST_ID = "x-request-id"
ERROR_TYPE = "x-confero-error"
ERROR_DETAILS = "x-confero-error-details"
TRACE_KEYS = ("traceparent", "tracestate")

# The modules whose errors may cross a service boundary: imported here so that a client knows their
# classes even in a process that never imported them itself.
ERROR_MODULES = ("domain.shared.errors", "domain.shared.limits", "domain.shared.blobs", "domain.users.errors",
                 "domain.meetings.errors", "domain.rooms.errors", "domain.recordings.errors",
                 "domain.analysis.errors", "domain.notifications.errors", "domain.webhooks.errors",
                 "domain.messaging.errors")

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

# A status that carries no domain error (another server, a proxy, the transport): the generic error of
# its kind.  Anything else the server could not handle is, to the caller, the service being unavailable.
_GENERIC: dict[Status, type[DomainError]] = {
    Status.NOT_FOUND: NotFound, Status.ALREADY_EXISTS: AlreadyExists, Status.INVALID_ARGUMENT: InvalidArgument,
    Status.PERMISSION_DENIED: PermissionDenied, Status.UNAUTHENTICATED: Unauthenticated,
    Status.RESOURCE_EXHAUSTED: RateLimited, Status.ABORTED: ConcurrentModification,
}


class FailedPrecondition(DomainError):
    """A FAILED_PRECONDITION that named no error class of ours."""


_GENERIC[Status.FAILED_PRECONDITION] = FailedPrecondition

# The request id of the call being served (set by the servers), so that the calls it makes carry it on.
current_request_id: ContextVar[str | None] = ContextVar("grpc_request_id", default=None)
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


# -- errors ------------------------------------------------------------------------------------------

def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _error_classes() -> dict[str, type[DomainError]]:
    for module in ERROR_MODULES:
        importlib.import_module(module)
    found: dict[str, type[DomainError]] = {}
    todo: list[type[DomainError]] = [DomainError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("domain."):
            found[_name(cls)] = cls
        todo.extend(cls.__subclasses__())
    return found


_CLASSES: dict[str, type[DomainError]] = {}


def error_class(name: str) -> type[DomainError] | None:
    """A domain error class by its full name; only classes of the domain package, never an import."""
    if name not in _CLASSES:
        _CLASSES.update(_error_classes())
    return _CLASSES.get(name)


def error_trailers(err: DomainError) -> tuple[Status, str, dict[str, str]]:
    """The status, message ("code: message", as the HTTP API's error.code) and trailing metadata of an
    error a handler raised."""
    reason = err.details.get("reason")
    suffix = f" (reason: {reason})" if reason else ""
    metadata = {ERROR_TYPE: _name(type(err))}
    try:
        metadata[ERROR_DETAILS] = json.dumps(err.details, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        pass
    return GRPC_STATUS[err.kind], f"{err.code or 'error'}: {err.message}{suffix}", metadata


def to_grpc(err: DomainError) -> GRPCError:
    """For handlers that raise instead of sending trailers: the status and message, no error class."""
    status, message, _ = error_trailers(err)
    return GRPCError(status, message)


def from_grpc(status: Status, message: str | None, trailers: Mapping[str, str] | None) -> DomainError:
    """The domain error a call's status and trailing metadata describe: the same class and details the
    server raised, or the generic error of the status when it named none of ours."""
    trailers = trailers or {}
    text = message or ""
    code, sep, rest = text.partition(": ")
    human = rest if sep else text
    name = trailers.get(ERROR_TYPE)
    cls = error_class(name) if name else None
    details: dict[str, Any] = {}
    raw = trailers.get(ERROR_DETAILS)
    if raw:
        try:
            parsed = json.loads(raw)
            details = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            details = {}
    if cls is not None and GRPC_STATUS.get(cls.kind) is status:
        suffix = f" (reason: {details['reason']})" if details.get("reason") else ""
        human = human.removesuffix(suffix)
        try:
            return cls(human, **details)
        except TypeError:  # details that do not fit the class's constructor: the generic error below
            pass
    generic = _GENERIC.get(status)
    if generic is None:
        return Unavailable(f"remote call failed: {status.name}: {text}"[:500], status=status.name)
    return generic(human or status.name.lower())


# -- the codec ---------------------------------------------------------------------------------------

_WIRE_TYPES = {"double": 1, "fixed64": 1, "sfixed64": 1, "float": 5, "fixed32": 5, "sfixed32": 5,
               "string": 2, "bytes": 2, "message": 2, "map": 2}  # anything else: a varint (0)
_MAX_DEPTH = 64


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7
        if shift >= 70:
            raise ValueError("varint longer than 10 bytes")


def check_wire(data: bytes | memoryview, message_type: Any = None, depth: int = 0) -> None:
    """Raises ValueError unless ``data`` is well-formed protobuf for ``message_type``: every length within
    the data, known wire types only, and each known field with its own wire type (packed repeated
    numbers may be length-delimited).  betterproto's parser accepts truncated fields and a number where a
    string belongs; this is what makes such bytes INVALID_ARGUMENT instead of a crash in a handler."""
    if depth > _MAX_DEPTH:
        raise ValueError("messages nested too deep")
    meta = getattr(message_type, "_betterproto", None)
    i, n = 0, len(data)
    while i < n:
        key, i = _varint(data, i)
        number, wire_type = key >> 3, key & 7
        if not 1 <= number < 1 << 29:
            raise ValueError(f"field number {number}")
        name = meta.field_name_by_number.get(number) if meta is not None else None
        proto_type = meta.meta_by_field_name[name].proto_type if name else None
        if proto_type is not None and wire_type != _WIRE_TYPES.get(proto_type, 0) and wire_type != 2:
            raise ValueError(f"field {number} ({proto_type}) with wire type {wire_type}")
        if wire_type == 0:
            _, i = _varint(data, i)
        elif wire_type in (1, 5):
            i += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            length, i = _varint(data, i)
            if i + length > n:
                raise ValueError("truncated field")
            if proto_type in ("message", "map"):
                nested = meta.cls_by_field.get(name) if proto_type == "message" else None
                check_wire(memoryview(data)[i:i + length], nested if hasattr(nested, "_betterproto") else None,
                           depth + 1)
            i += length
        else:
            raise ValueError(f"wire type {wire_type}")
        if i > n:
            raise ValueError("truncated field")


class CheckedProtoCodec(ProtoCodec):
    """A message that does not parse is the client's fault: INVALID_ARGUMENT, not an application error."""

    def decode(self, data: bytes, message_type: Any) -> Any:
        try:
            check_wire(data, message_type)
            return super().decode(data, message_type)
        except Exception as exc:
            raise GRPCError(Status.INVALID_ARGUMENT, f"malformed_message: {type(exc).__name__}") from None


# -- metadata ----------------------------------------------------------------------------------------

def service_token_ok(metadata: Mapping[str, str] | None, accepted: Sequence[str]) -> bool | None:
    """None when the call carries no service token, else whether it is one of ``accepted`` (constant
    time; several are accepted while a secret is rotated)."""
    token = (metadata or {}).get(SERVICE_TOKEN)
    if token is None:
        return None
    given = token.encode()
    return any(hmac.compare_digest(given, t.encode()) for t in accepted if t)


def clean_request_id(value: str | None) -> str | None:
    return value if value and _REQUEST_ID_RE.fullmatch(value) else None


def outgoing(secret: str, request_id: str | None = None) -> dict[str, str]:
    """The metadata of an outgoing call: the service secret, the request id (the given one, the one of
    the call being served, or a new one) and the current trace context."""
    metadata = {SERVICE_TOKEN: secret,
                REQUEST_ID: clean_request_id(request_id) or current_request_id.get() or uuid.uuid4().hex}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    metadata.update((k, v) for k, v in carrier.items() if k in TRACE_KEYS)
    return metadata


def incoming_trace(metadata: Iterable[tuple[str, str]] | Mapping[str, str] | None) -> Any:
    """The OpenTelemetry context the caller's traceparent/tracestate describe (the current one if none)."""
    items = metadata.items() if isinstance(metadata, Mapping) else (metadata or ())
    carrier = {k: v for k, v in items if k in TRACE_KEYS}
    return propagate.extract(carrier)
