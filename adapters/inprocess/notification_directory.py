"""The notification service's Directory over this process's user and meeting repositories (when the
services split, a gRPC adapter takes its place)."""

from __future__ import annotations

from domain.meetings.errors import MeetingNotFound
from domain.notifications.facts import MeetingFacts, Recipient
from domain.shared.ids import MeetingId, UserId
from domain.users.errors import UserNotFound
from domain.users.model import User
from ports.meetings import MeetingRepository
from ports.users import UserRepository


def _recipient(u: User) -> Recipient:
    return Recipient(user_id=u.id, email=u.email, display_name=u.display_name, active=not u.banned,
                     verified=u.email_verified)


class RepositoryDirectory:
    def __init__(self, users: UserRepository, meetings: MeetingRepository) -> None:
        self._users, self._meetings = users, meetings

    async def recipient(self, user_id: UserId) -> Recipient | None:
        try:
            return _recipient(await self._users.get(user_id))
        except UserNotFound:
            return None

    async def recipient_by_email(self, email: str) -> Recipient | None:
        # Only a confirmed address names its account: anyone can sign up with someone else's address,
        # and must not receive what is sent to it (an invitation) before proving they own it.
        found = await self._users.find_by_email(email.strip().lower())
        return None if found is None or not found.email_verified else _recipient(found)

    async def meeting(self, meeting_id: MeetingId) -> MeetingFacts | None:
        try:
            return MeetingFacts.of(await self._meetings.get(meeting_id))
        except MeetingNotFound:
            return None
