from __future__ import annotations

from typing import ClassVar

from attrs import frozen

from domain.shared.events import DomainEvent


@frozen(kw_only=True)
class MeetingEvent(DomainEvent):
    meeting_id: str


@frozen(kw_only=True)
class MeetingCreated(MeetingEvent):
    name: ClassVar[str] = "meeting.created"
    host_id: str


@frozen(kw_only=True)
class MeetingUpdated(MeetingEvent):
    name: ClassVar[str] = "meeting.updated"
    fields: tuple[str, ...]


@frozen(kw_only=True)
class MeetingDeleted(MeetingEvent):
    name: ClassVar[str] = "meeting.deleted"
    by: str


@frozen(kw_only=True)
class MeetingStarted(MeetingEvent):
    name: ClassVar[str] = "meeting.started"


@frozen(kw_only=True)
class MeetingEnded(MeetingEvent):
    name: ClassVar[str] = "meeting.ended"
    by: str


@frozen(kw_only=True)
class MeetingCancelled(MeetingEvent):
    name: ClassVar[str] = "meeting.cancelled"
    by: str


@frozen(kw_only=True)
class ParticipantJoined(MeetingEvent):
    name: ClassVar[str] = "meeting.participant_joined"
    user_id: str
    role: str


@frozen(kw_only=True)
class ParticipantLeft(MeetingEvent):
    name: ClassVar[str] = "meeting.participant_left"
    user_id: str


@frozen(kw_only=True)
class ParticipantKicked(MeetingEvent):
    name: ClassVar[str] = "meeting.participant_kicked"
    user_id: str
    by: str


@frozen(kw_only=True)
class UserInvited(MeetingEvent):
    name: ClassVar[str] = "meeting.user_invited"
    by: str
    user_id: str | None = None
    email: str | None = None


@frozen(kw_only=True)
class CoHostPromoted(MeetingEvent):
    name: ClassVar[str] = "meeting.cohost_promoted"
    user_id: str
    by: str


@frozen(kw_only=True)
class CoHostDemoted(MeetingEvent):
    name: ClassVar[str] = "meeting.cohost_demoted"
    user_id: str
    by: str


@frozen(kw_only=True)
class HostTransferred(MeetingEvent):
    name: ClassVar[str] = "meeting.host_transferred"
    from_user_id: str
    to_user_id: str


@frozen(kw_only=True)
class MeetingLocked(MeetingEvent):
    name: ClassVar[str] = "meeting.locked"
    by: str


@frozen(kw_only=True)
class MeetingUnlocked(MeetingEvent):
    name: ClassVar[str] = "meeting.unlocked"
    by: str


@frozen(kw_only=True)
class CaptionsTurnedOn(MeetingEvent):
    name: ClassVar[str] = "meeting.captions_on"
    by: str


@frozen(kw_only=True)
class CaptionsTurnedOff(MeetingEvent):
    name: ClassVar[str] = "meeting.captions_off"
    by: str
