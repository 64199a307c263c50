from __future__ import annotations

from typing import Protocol

from domain.meetings.commands import Relation, When
from domain.meetings.model import Meeting
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest


class MeetingRepository(Protocol):
    """Stores Meeting aggregates and returns independent copies (mutate, then ``save``).

    - ``get`` raises MeetingNotFound.
    - ``save`` raises MeetingNotFound, and ConcurrentModification when the stored version is not
      ``meeting.version`` (optimistic concurrency: of two racing saves of one loaded version, exactly one
      wins); on success it increments ``meeting.version``.
    - ``delete`` raises MeetingNotFound.
    - ``list_for_user`` returns the meetings related to the user: ``HOSTED`` (host), ``INVITED`` (user id
      or ``email`` invited), ``JOINED`` (ever joined), ``ALL`` (any of those, or co-host).  ``UPCOMING`` =
      scheduled or live, ordered by start time ascending; ``PAST`` = ended or cancelled, start time
      descending; ``ALL`` = start time descending.  Ties are broken by id.
    Any method may raise Unavailable.
    """

    async def add(self, meeting: Meeting) -> None: ...
    async def get(self, meeting_id: MeetingId) -> Meeting: ...
    async def save(self, meeting: Meeting) -> None: ...
    async def delete(self, meeting_id: MeetingId) -> None: ...
    async def list_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When,
                            page: PageRequest) -> Page[Meeting]: ...
