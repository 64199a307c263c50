from __future__ import annotations

from domain.recordings.model import RecordingState
from domain.rooms.recording import ActiveRecording
from domain.shared.ids import MeetingId
from ports.recordings import RecordingRepository


class InProcessRecordingStatus:
    """RecordingStatus from the recording repository of this process's composition."""

    def __init__(self, recordings: RecordingRepository) -> None:
        self._recordings = recordings

    async def active(self, room_id: MeetingId) -> ActiveRecording | None:
        found = await self._recordings.active_for_meeting(room_id)
        if found is None or found.state not in (RecordingState.STARTING, RecordingState.RECORDING):
            return None
        return ActiveRecording(recording_id=found.id, started_by=found.started_by, started_at=found.started_at)
