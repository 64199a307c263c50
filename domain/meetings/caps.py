"""Per-user caps on meetings (MeetingLimits): checked by the use cases that would exceed them."""

from __future__ import annotations

from domain.meetings.commands import Relation, When
from domain.meetings.errors import OpenMeetingsLimitReached
from domain.meetings.rules import MeetingLimits
from domain.shared.ids import UserId
from ports.meeting_queries import MeetingQueries


async def require_room_to_host(meetings: MeetingQueries, host_id: UserId, limits: MeetingLimits) -> None:
    """OpenMeetingsLimitReached when ``host_id`` already hosts the most open (scheduled or live)
    meetings allowed.  Callers hold the host's lock from this check until the meeting is added."""
    hosted = await meetings.count_for_user(host_id, None, Relation.HOSTED, When.UPCOMING)
    limit = limits.open_meetings_per_host
    if hosted >= limit:
        raise OpenMeetingsLimitReached(f"you already host {hosted} open meetings; end or cancel one first "
                                       f"(at most {limit})", limit=limit)
