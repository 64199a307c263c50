from __future__ import annotations

from domain.meetings.commands import Relation, When
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting, MeetingStatus
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest

UPCOMING = (MeetingStatus.SCHEDULED, MeetingStatus.LIVE)


def related(m: Meeting, user_id: UserId, email: str | None, relation: Relation) -> bool:
    hosted = m.host_id == user_id
    invited = m.is_invited(user_id, email)
    joined = user_id in m.attendees
    if relation is Relation.HOSTED:
        return hosted
    if relation is Relation.INVITED:
        return invited
    if relation is Relation.JOINED:
        return joined
    return hosted or invited or joined or user_id in m.co_hosts


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

    async def list_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When,
                            page: PageRequest) -> Page[Meeting]:
        hits = [m for m in self._by_id.values() if related(m, user_id, email, relation)]
        if when is When.UPCOMING:
            hits = [m for m in hits if m.status in UPCOMING]
            hits.sort(key=lambda m: (m.start_time, m.id))
        else:
            if when is When.PAST:
                hits = [m for m in hits if m.status not in UPCOMING]
            hits.sort(key=lambda m: (m.start_time, m.id), reverse=True)
        window = hits[page.offset:page.offset + page.limit]
        return Page(items=tuple(m.copy() for m in window), total=len(hits), offset=page.offset, limit=page.limit)
