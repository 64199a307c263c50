from __future__ import annotations

from domain.shared.errors import DomainError, ErrorKind, InvalidArgument


class NotInRoom(DomainError):
    """The socket has not joined that room (or was reaped from it)."""

    kind = ErrorKind.FAILED_PRECONDITION


class PeerNotInRoom(DomainError):
    kind = ErrorKind.NOT_FOUND


class InvalidSignal(InvalidArgument):
    pass
