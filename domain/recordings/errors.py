"""Errors of recording (the aggregate, its service and the media server's recorder)."""

from __future__ import annotations

from domain.shared.errors import AlreadyExists, DomainError, ErrorKind


class RecordingConflict(AlreadyExists):
    """The meeting already has an active recording (``recording_id`` names it when known)."""


class ProcessingFailed(DomainError):
    kind = ErrorKind.FAILED_PRECONDITION
