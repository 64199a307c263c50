"""Where Recording aggregates are kept."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from domain.recordings.model import Recording, RecordingState
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
      increments ``recording.version``.  It stores neither ``owner`` nor ``lease_until`` (only ``add``
      and the two lease methods do), so a save from a copy loaded before a renewal never shortens the
      lease.
    - ``claim_lease(recording_id, owner, until, now)``: makes ``owner`` the recording's owner with its
      lease ending at ``until`` when the recording is not completed or failed and its lease is free:
      no owner, a lease ending at or before ``now``, or ``owner`` already the owner (the same instance
      id from a previous life of the process).  Atomic against a concurrent ``renew_lease``: of the two
      exactly one wins.  Returns whether ``owner`` holds it now; increments the stored version on
      success (the copies others loaded become stale).  RecordingNotFound for an unknown id.
    - ``renew_lease(recording_id, owner, until)``: the heartbeat of the owning process: sets
      ``lease_until`` when ``owner`` owns the recording and it is not completed or failed, WITHOUT
      incrementing the version (a concurrent ``save``, e.g. a stop, still succeeds).  Returns the
      recording's state then, or None when ``owner`` does not hold it (unknown id, another owner, ended).
    - ``delete`` raises RecordingNotFound.
    - ``list_for_meeting``: the meeting's recordings, newest first (``created_at``, then id).
    - ``active_for_meeting``: the meeting's active recording, or None.
    - ``list_unfinished``: every recording in starting, recording, stopping or processing, oldest first
      (for the recovery after a crash).
    Any method may raise Unavailable.  Through a unit of work (ports/uow.py, ``uow.recordings``) writes
    wait for ``commit``, which then raises the errors above instead; list queries see committed state,
    and the two lease methods act at once, outside the unit (a heartbeat is no business transaction).
    """

    async def add(self, recording: Recording) -> None: ...
    async def get(self, recording_id: RecordingId) -> Recording: ...
    async def save(self, recording: Recording) -> None: ...
    async def delete(self, recording_id: RecordingId) -> None: ...
    async def list_for_meeting(self, meeting_id: MeetingId) -> list[Recording]: ...
    async def active_for_meeting(self, meeting_id: MeetingId) -> Recording | None: ...
    async def list_unfinished(self) -> list[Recording]: ...
    async def claim_lease(self, recording_id: RecordingId, owner: str, until: dt.datetime,
                          now: dt.datetime) -> bool: ...
    async def renew_lease(self, recording_id: RecordingId, owner: str,
                          until: dt.datetime) -> RecordingState | None: ...


class DownloadLinks(Protocol):
    """Signed, expiring links to a blob, served by this application itself (for blob stores that
    cannot sign links: a directory, memory).  ``verify`` raises DownloadLinkInvalid for a link that was
    changed or has expired."""

    def sign(self, key: str, filename: str, expires_at: dt.datetime) -> str: ...
    def verify(self, key: str, filename: str, expires: int, signature: str, now: dt.datetime) -> None: ...
