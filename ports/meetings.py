from __future__ import annotations

from typing import Protocol

from domain.meetings.model import Meeting
from domain.shared.ids import MeetingId


class MeetingRepository(Protocol):
    """Stores Meeting aggregates and returns independent copies (mutate, then ``save``).

    - ``get`` raises MeetingNotFound.
    - ``save`` raises MeetingNotFound, and ConcurrentModification when the stored version is not
      ``meeting.version`` (optimistic concurrency: of two racing saves of one loaded version, exactly one
      wins); on success it increments ``meeting.version``.
    - ``delete`` raises MeetingNotFound.
    Any method may raise Unavailable.  Lists of meetings are the read side's (ports/meeting_queries.py).

    Bound to a unit of work (ports/uow.py), a repository that locks what it loads may leave the version
    alone when only attendance changed (PostgreSQL does: a join or a leave writes one row, and the row
    lock taken at ``get`` keeps concurrent changes out until the unit ends).  A change of the meeting's
    own fields always increments it.
    """

    async def add(self, meeting: Meeting) -> None: ...
    async def get(self, meeting_id: MeetingId) -> Meeting: ...
    async def save(self, meeting: Meeting) -> None: ...
    async def delete(self, meeting_id: MeetingId) -> None: ...
