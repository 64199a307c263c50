from __future__ import annotations

from domain.meetings.commands import Relation, When
from domain.meetings.model import Meeting, MeetingStatus
from domain.meetings.relations import relations_of
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest

from adapters.memory.meetings import InMemoryMeetingRepository

UPCOMING = (MeetingStatus.SCHEDULED, MeetingStatus.LIVE)


class InMemoryMeetingQueries:
    """MeetingQueries over the memory repository's committed meetings."""

    def __init__(self, meetings: InMemoryMeetingRepository) -> None:
        self._meetings = meetings

    async def list_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When,
                            page: PageRequest) -> Page[Meeting]:
        hits = [m for m in self._meetings.all() if relation in relations_of(m, user_id, email)]
        if when is When.UPCOMING:
            hits = [m for m in hits if m.status in UPCOMING]
            hits.sort(key=lambda m: (m.start_time, m.id))
        else:
            if when is When.PAST:
                hits = [m for m in hits if m.status not in UPCOMING]
            hits.sort(key=lambda m: (m.start_time, m.id), reverse=True)
        window = hits[page.offset:page.offset + page.limit]
        return Page(items=tuple(m.copy() for m in window), total=len(hits), offset=page.offset, limit=page.limit)
