from __future__ import annotations

from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId


class InMemoryMeetingRepository:
    """Dict-backed MeetingRepository; the embedded default and the oracle for other adapters."""

    def __init__(self) -> None:
        self._by_id: dict[MeetingId, Meeting] = {}

    async def add(self, meeting: Meeting) -> None:
        if meeting.id in self._by_id:
            raise AlreadyExists("meeting exists", meeting_id=meeting.id)
        self._by_id[meeting.id] = meeting.copy()

    async def get(self, meeting_id: MeetingId) -> Meeting:
        try:
            return self._by_id[meeting_id].copy()
        except KeyError:
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id) from None

    async def save(self, meeting: Meeting) -> None:
        current = self._by_id.get(meeting.id)
        if current is None:
            raise MeetingNotFound("no such meeting", meeting_id=meeting.id)
        if current.version != meeting.version:
            raise ConcurrentModification("the meeting was changed by someone else")
        meeting.version += 1
        self._by_id[meeting.id] = meeting.copy()

    async def delete(self, meeting_id: MeetingId) -> None:
        if self._by_id.pop(meeting_id, None) is None:
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id)

    def all(self) -> list[Meeting]:
        """The stored meetings themselves (not copies), for the memory read side."""
        return list(self._by_id.values())
