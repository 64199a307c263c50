"""One error vocabulary for the whole domain.

Every runner (HTTP, gRPC, WebSocket) maps an error's ``kind`` to its own status and sends ``code``
(a stable machine-readable name) with a human ``message``.  Adapters translate driver failures into
these errors, so no driver exception ever crosses a port.
"""

from __future__ import annotations

import enum
import re
from typing import Any, ClassVar


class ErrorKind(enum.Enum):
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    INVALID_ARGUMENT = "invalid_argument"
    FAILED_PRECONDITION = "failed_precondition"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class DomainError(Exception):
    """Base of every error the domain raises on purpose.

    Subclasses set ``kind`` and may override ``code``; ``details`` carries small JSON-safe facts that
    help a client (a meeting id, a capacity) and never secrets.
    """

    kind: ClassVar[ErrorKind] = ErrorKind.FAILED_PRECONDITION
    code: ClassVar[str] = ""

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.default_message())
        self.message = str(self.args[0])
        self.details = details

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "code" not in cls.__dict__:
            cls.code = _snake(cls.__name__)

    @classmethod
    def default_message(cls) -> str:
        return _snake(cls.__name__).replace("_", " ")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.details == other.details  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(type(self))


class NotFound(DomainError):
    kind = ErrorKind.NOT_FOUND


class AlreadyExists(DomainError):
    kind = ErrorKind.ALREADY_EXISTS


class InvalidArgument(DomainError):
    kind = ErrorKind.INVALID_ARGUMENT


class PermissionDenied(DomainError):
    kind = ErrorKind.PERMISSION_DENIED


class Unauthenticated(DomainError):
    kind = ErrorKind.UNAUTHENTICATED


class RateLimited(DomainError):
    """Too many attempts; ``retry_after`` (seconds) tells the client when to try again."""

    kind = ErrorKind.RESOURCE_EXHAUSTED


class ConcurrentModification(DomainError):
    """An aggregate changed between load and save; services retry, clients may see 409."""

    kind = ErrorKind.CONFLICT


class Unavailable(DomainError):
    """A backing service (database, cache, bus) cannot be reached or timed out."""

    kind = ErrorKind.UNAVAILABLE
