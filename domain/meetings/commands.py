from __future__ import annotations

import datetime as dt
import enum

from attrs import frozen

from domain.meetings.model import MeetingSettings
from domain.meetings.rules import DEFAULT_CAPACITY, DEFAULT_DURATION_MINUTES
from domain.shared.ids import MeetingId, UserId


@frozen(kw_only=True)
class ScheduleMeeting:
    title: str
    description: str = ""
    start_time: dt.datetime | None = None  # None: now
    duration_minutes: int = DEFAULT_DURATION_MINUTES
    capacity: int = DEFAULT_CAPACITY
    password: str | None = None
    settings: MeetingSettings = MeetingSettings()


@frozen(kw_only=True)
class UpdateMeeting:
    meeting_id: MeetingId
    title: str | None = None
    description: str | None = None
    start_time: dt.datetime | None = None
    duration_minutes: int | None = None
    capacity: int | None = None
    password: str | None = None
    clear_password: bool = False
    mute_on_join: bool | None = None
    allow_recording: bool | None = None
    invite_only: bool | None = None
    allow_analysis: bool | None = None


@frozen(kw_only=True)
class JoinMeeting:
    meeting_id: MeetingId
    password: str | None = None


@frozen(kw_only=True)
class Invite:
    meeting_id: MeetingId
    user_id: UserId | None = None
    email: str | None = None
    username: str | None = None


class HostAction(enum.Enum):
    KICK = "kick"
    PROMOTE = "promote"
    DEMOTE = "demote"
    TRANSFER_HOST = "transfer_host"


class MeetingAction(enum.Enum):
    LOCK = "lock"
    UNLOCK = "unlock"
    CAPTIONS_ON = "captions_on"
    CAPTIONS_OFF = "captions_off"
    END = "end"
    CANCEL = "cancel"


class Relation(enum.Enum):
    ALL = "all"
    HOSTED = "hosted"
    INVITED = "invited"
    JOINED = "joined"


class When(enum.Enum):
    ALL = "all"
    UPCOMING = "upcoming"
    PAST = "past"
