"""Errors of recording (the aggregate, its service and the media server's recorder)."""

from __future__ import annotations

from domain.shared.errors import AlreadyExists, DomainError, ErrorKind, NotFound, PermissionDenied


class RecordingConflict(AlreadyExists):
    """The meeting already has an active recording (``recording_id`` names it when known)."""


class ProcessingFailed(DomainError):
    kind = ErrorKind.FAILED_PRECONDITION


class RecordingNotFound(NotFound):
    pass


class NotAllowedToRecord(PermissionDenied):
    """Only the meeting's host, its co-hosts and administrators start and stop recordings."""


class RecordingsHidden(PermissionDenied):
    """The caller may not see this meeting's recordings."""


class MeetingNotLive(DomainError):
    kind = ErrorKind.FAILED_PRECONDITION


class RecordingNotAllowed(DomainError):
    """The meeting's settings forbid recording (``settings.allow_recording``)."""

    kind = ErrorKind.FAILED_PRECONDITION


class RecordingNotActive(DomainError):
    """Stopping a recording that already stopped (or never ran)."""

    kind = ErrorKind.FAILED_PRECONDITION


class RecordingStillActive(DomainError):
    """Deleting a recording that is still running or being processed: stop it, wait for it, then delete."""

    kind = ErrorKind.FAILED_PRECONDITION


class InvalidRecordingTransition(DomainError):
    """A step of the state machine asked in a state that does not allow it (a bug or a race)."""

    kind = ErrorKind.FAILED_PRECONDITION


class DownloadLinkInvalid(PermissionDenied):
    """A download link that was tampered with or has expired."""
