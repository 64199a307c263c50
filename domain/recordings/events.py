"""Facts about recordings, registered by name in the typed event registry (domain/shared/events.py)."""

from __future__ import annotations

from typing import ClassVar

from attrs import frozen

from domain.shared.events import DomainEvent


@frozen(kw_only=True)
class RecordingEvent(DomainEvent):
    recording_id: str
    meeting_id: str


@frozen(kw_only=True)
class RecordingStarted(RecordingEvent):
    """Media of the room is being recorded from now on (everyone in the room must be told)."""

    name: ClassVar[str] = "recording.started"
    started_by: str


@frozen(kw_only=True)
class RecordingStopped(RecordingEvent):
    """Nothing more of the room is recorded; ``by`` is None when the meeting's end stopped it."""

    name: ClassVar[str] = "recording.stopped"
    by: str | None = None


@frozen(kw_only=True)
class RecordingCompleted(RecordingEvent):
    name: ClassVar[str] = "recording.completed"
    files: int


@frozen(kw_only=True)
class RecordingFailed(RecordingEvent):
    """``was_recording``: the room was being recorded until now (the room is told it stopped)."""

    name: ClassVar[str] = "recording.failed"
    reason: str
    was_recording: bool = False


@frozen(kw_only=True)
class RecordingDeleted(RecordingEvent):
    name: ClassVar[str] = "recording.deleted"
    by: str
