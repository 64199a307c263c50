from __future__ import annotations

from domain.shared.errors import DomainError, ErrorKind, InvalidArgument


class NotInRoom(DomainError):
    """The socket has not joined that room (or was reaped from it)."""

    kind = ErrorKind.FAILED_PRECONDITION


class PeerNotInRoom(DomainError):
    kind = ErrorKind.NOT_FOUND


class InvalidSignal(InvalidArgument):
    pass


class MediaNodeDraining(DomainError):
    """A draining media node opens no new rooms (the room goes to another node); rooms it holds go on."""

    kind = ErrorKind.FAILED_PRECONDITION
