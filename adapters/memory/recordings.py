"""Dict-backed RecordingRepository: the embedded default and the oracle for the other adapters."""

from __future__ import annotations

import datetime as dt

from attrs import evolve

from domain.recordings.errors import RecordingConflict, RecordingNotFound
from domain.recordings.model import Recording, RecordingState
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, RecordingId


class InMemoryRecordingRepository:
    def __init__(self) -> None:
        self._by_id: dict[RecordingId, Recording] = {}

    async def add(self, recording: Recording) -> None:
        if recording.id in self._by_id:
            raise AlreadyExists("recording exists", recording_id=recording.id)
        if recording.state.is_active:
            active = self._active(recording.meeting_id)
            if active is not None:
                raise RecordingConflict("the meeting is being recorded already", recording_id=active.id)
        self._by_id[recording.id] = recording.copy()

    async def get(self, recording_id: RecordingId) -> Recording:
        try:
            return self._by_id[recording_id].copy()
        except KeyError:
            raise RecordingNotFound("no such recording", recording_id=recording_id) from None

    async def save(self, recording: Recording) -> None:
        current = self._by_id.get(recording.id)
        if current is None:
            raise RecordingNotFound("no such recording", recording_id=recording.id)
        if current.version != recording.version:
            raise ConcurrentModification("the recording was changed by someone else")
        if recording.state.is_active and not current.state.is_active:
            active = self._active(recording.meeting_id)
            if active is not None:
                raise RecordingConflict("the meeting is being recorded already", recording_id=active.id)
        recording.version += 1
        self._by_id[recording.id] = evolve(recording.copy(), owner=current.owner, lease_until=current.lease_until)

    async def delete(self, recording_id: RecordingId) -> None:
        if self._by_id.pop(recording_id, None) is None:
            raise RecordingNotFound("no such recording", recording_id=recording_id)

    async def list_for_meeting(self, meeting_id: MeetingId) -> list[Recording]:
        found = [r.copy() for r in self._by_id.values() if r.meeting_id == meeting_id]
        return sorted(found, key=lambda r: (r.created_at, r.id), reverse=True)

    async def active_for_meeting(self, meeting_id: MeetingId) -> Recording | None:
        active = self._active(meeting_id)
        return active.copy() if active is not None else None

    async def list_unfinished(self) -> list[Recording]:
        found = [r.copy() for r in self._by_id.values() if not r.state.is_terminal]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    async def claim_lease(self, recording_id: RecordingId, owner: str, until: dt.datetime,
                          now: dt.datetime) -> bool:
        current = self._by_id.get(recording_id)
        if current is None:
            raise RecordingNotFound("no such recording", recording_id=recording_id)
        if current.state.is_terminal or current.held_by_other(owner, now):
            return False
        current.owner, current.lease_until = owner, until
        current.version += 1
        return True

    async def renew_lease(self, recording_id: RecordingId, owner: str,
                          until: dt.datetime) -> RecordingState | None:
        current = self._by_id.get(recording_id)
        if current is None or current.owner != owner or current.state.is_terminal:
            return None
        current.lease_until = until
        return current.state

    def _active(self, meeting_id: MeetingId) -> Recording | None:
        return next((r for r in self._by_id.values() if r.meeting_id == meeting_id and r.state.is_active), None)
