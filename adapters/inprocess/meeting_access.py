from __future__ import annotations

from domain.meetings.commands import JoinMeeting
from domain.meetings.errors import MeetingCancelled, MeetingEnded, MeetingNotFound, NotAParticipant, NotMeetingHost
from domain.meetings.service import MeetingService
from domain.rooms.model import Admission
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId
from domain.users.errors import UserNotFound
from ports.users import UserRepository


class InProcessMeetingAccess:
    """MeetingAccess by calling the meeting service in this process (the all-in-one, and any process
    that composes the meeting domain itself).  A gRPC client takes its place when services split."""

    def __init__(self, meetings: MeetingService, users: UserRepository) -> None:
        self._meetings = meetings
        self._users = users

    async def admit(self, actor: Actor, meeting_id: MeetingId, password: str | None) -> Admission:
        meeting = await self._meetings.join(actor, JoinMeeting(meeting_id=meeting_id, password=password))
        role = meeting.role_of(actor.user_id)
        try:
            name = (await self._users.get(actor.user_id)).display_name
        except UserNotFound:
            name = "unknown"
        roles = {meeting.host_id: "host"} | {u: "co_host" for u in meeting.co_hosts}
        return Admission(role=role.value if role else "participant", display_name=name,
                         mute_on_join=meeting.settings.mute_on_join, roles=roles)

    async def depart(self, actor: Actor, meeting_id: MeetingId) -> None:
        try:
            await self._meetings.leave(actor, meeting_id)
        except (NotAParticipant, MeetingNotFound, MeetingEnded, MeetingCancelled):
            pass

    async def require_manager(self, actor: Actor, meeting_id: MeetingId) -> None:
        meeting = await self._meetings.get(actor, meeting_id)
        if not meeting.can_manage(actor):
            raise NotMeetingHost("only the host, co-hosts and administrators can do that")
