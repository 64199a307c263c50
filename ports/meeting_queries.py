"""The read side of meetings: list queries that return what a page shows, not aggregates to change."""

from __future__ import annotations

from typing import Protocol

from domain.meetings.commands import Relation, When
from domain.meetings.model import Meeting
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest


class MeetingQueries(Protocol):
    """``list_for_user`` returns the meetings related to the user by the rule of
    ``domain.meetings.relations.relations_of``: ``HOSTED`` (host), ``INVITED`` (user id or ``email``
    invited), ``JOINED`` (ever joined), ``ALL`` (any of those, or co-host); a user kicked from a
    meeting has no relation to it.  ``UPCOMING`` = scheduled or live, ordered by start time
    ascending; ``PAST`` = ended or cancelled, start time descending; ``ALL`` = start time descending.
    Ties are broken by id.  The meetings are independent copies.  May raise Unavailable.
    """

    async def list_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When,
                            page: PageRequest) -> Page[Meeting]: ...
