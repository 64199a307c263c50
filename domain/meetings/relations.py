"""The one rule for "meetings of mine" (the SQL of the PostgreSQL read side says the same in SQL)."""

from __future__ import annotations

from domain.meetings.commands import Relation
from domain.meetings.model import Meeting
from domain.shared.ids import UserId


def relations_of(meeting: Meeting, user_id: UserId, email: str | None) -> frozenset[Relation]:
    """How the user relates to the meeting: HOSTED, INVITED (by id or email), JOINED (ever), plus ALL
    when any of those holds or they co-host.  Kicked users relate to nothing."""
    if user_id in meeting.kicked:
        return frozenset()
    found = {r for r, holds in ((Relation.HOSTED, meeting.host_id == user_id),
                                (Relation.INVITED, meeting.is_invited(user_id, email)),
                                (Relation.JOINED, user_id in meeting.attendees)) if holds}
    if found or user_id in meeting.co_hosts:
        found.add(Relation.ALL)
    return frozenset(found)
