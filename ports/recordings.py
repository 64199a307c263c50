"""Where Recording aggregates are kept."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from domain.recordings.model import Recording
from domain.shared.ids import MeetingId, RecordingId


class RecordingRepository(Protocol):
    """Stores Recording aggregates and returns independent copies (mutate, then ``save``).

    - ``add`` raises AlreadyExists for a known id, and RecordingConflict when the recording is active
      (starting, recording, stopping) while another active recording of its meeting is stored: the
      store itself enforces "at most one active recording per meeting", so two processes racing to
      start both cannot win.  When both rules are broken either error may be raised.
    - ``get`` raises RecordingNotFound.
    - ``save`` raises RecordingNotFound, and ConcurrentModification when the stored version is not
      ``recording.version`` (of two racing saves of one loaded version exactly one wins); on success it
      increments ``recording.version``.
    - ``delete`` raises RecordingNotFound.
    - ``list_for_meeting``: the meeting's recordings, newest first (``created_at``, then id).
    - ``active_for_meeting``: the meeting's active recording, or None.
    - ``list_unfinished``: every recording in starting, recording, stopping or processing, oldest first
      (for the recovery after a crash).
    Any method may raise Unavailable.  Through a unit of work (ports/uow.py, ``uow.recordings``) writes
    wait for ``commit``, which then raises the errors above instead; list queries see committed state.
    """

    async def add(self, recording: Recording) -> None: ...
    async def get(self, recording_id: RecordingId) -> Recording: ...
    async def save(self, recording: Recording) -> None: ...
    async def delete(self, recording_id: RecordingId) -> None: ...
    async def list_for_meeting(self, meeting_id: MeetingId) -> list[Recording]: ...
    async def active_for_meeting(self, meeting_id: MeetingId) -> Recording | None: ...
    async def list_unfinished(self) -> list[Recording]: ...


class DownloadLinks(Protocol):
    """Signed, expiring links to a blob, served by this application itself (for blob stores that
    cannot sign links: a directory, memory).  ``verify`` raises DownloadLinkInvalid for a link that was
    changed or has expired."""

    def sign(self, key: str, filename: str, expires_at: dt.datetime) -> str: ...
    def verify(self, key: str, filename: str, expires: int, signature: str, now: dt.datetime) -> None: ...
