"""Errors of live captions and transcripts."""

from __future__ import annotations

from typing import ClassVar

from domain.shared.errors import DomainError, ErrorKind, PermissionDenied


class TranscriptHidden(PermissionDenied):
    """Only the meeting's host, co-hosts, the people who attended it and administrators see its
    transcript."""


class CaptionsUnavailable(DomainError):
    """This server makes no captions (none configured): turning them on would do nothing."""

    kind: ClassVar[ErrorKind] = ErrorKind.FAILED_PRECONDITION
