"""What the policy needs to know about a meeting and a person, read by the service before it decides."""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from domain.meetings.model import Meeting
from domain.shared.ids import MeetingId, UserId


@frozen(kw_only=True)
class MeetingFacts:
    id: MeetingId
    title: str
    start_time: dt.datetime
    host_id: UserId
    co_hosts: frozenset[UserId] = frozenset()
    invited_users: frozenset[UserId] = frozenset()
    invited_emails: frozenset[str] = frozenset()
    participants: frozenset[UserId] = frozenset()  # in it now or attended before
    open: bool = True  # scheduled or running (not ended or cancelled)

    @classmethod
    def of(cls, m: Meeting) -> MeetingFacts:
        return cls(id=m.id, title=m.title, start_time=m.start_time, host_id=m.host_id,
                   co_hosts=frozenset(m.co_hosts), invited_users=frozenset(m.invited_users),
                   invited_emails=frozenset(m.invited_emails),
                   participants=frozenset(m.attendees) | frozenset(m.participants),
                   open=m.status.is_open)

    @property
    def managers(self) -> frozenset[UserId]:
        return self.co_hosts | {self.host_id}

    @property
    def reminded(self) -> frozenset[UserId]:
        """Who gets a reminder before it starts: host, co-hosts, invitees."""
        return self.managers | self.invited_users


@frozen(kw_only=True)
class Recipient:
    user_id: UserId
    email: str
    display_name: str
    active: bool = True  # banned users get nothing but the ban notice
    verified: bool = True  # the address was confirmed by its owner
