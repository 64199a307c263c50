"""The Meeting aggregate: schedule, settings, who may join, who is in, and the host's powers."""

from __future__ import annotations

import datetime as dt
import enum

from attrs import define, evolve, field, frozen

from domain.meetings import errors as e
from domain.meetings import events as ev
from domain.meetings.rules import (
    DEFAULT_CAPACITY,
    DEFAULT_DURATION_MINUTES,
    check_capacity,
    check_description,
    check_duration,
    check_start_time,
    check_title,
)
from domain.shared.actor import Actor
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, UserId


class MeetingStatus(enum.Enum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (MeetingStatus.SCHEDULED, MeetingStatus.LIVE)


class MeetingRole(enum.Enum):
    HOST = "host"
    CO_HOST = "co_host"
    PARTICIPANT = "participant"


@frozen(kw_only=True)
class MeetingSettings:
    mute_on_join: bool = False
    allow_recording: bool = True
    invite_only: bool = False
    allow_analysis: bool = True  # members may analyse the meeting's media (hosts always may)


@frozen(kw_only=True)
class Participant:
    user_id: UserId
    joined_at: dt.datetime


@define(kw_only=True)
class Meeting:
    """A scheduled or running meeting.

    Invariants (checked by tests/unit/test_meeting_state_machine.py):
    - at most ``capacity`` participants at any time, the host included once joined;
    - exactly one host; the host is never a co-host and never kicked;
    - an ended or cancelled meeting has no participants and admits nobody;
    - a kicked user is never a participant, an attendee, a co-host or invited, has no role, cannot see
      an invite-only meeting, and can never join again;
    - the host is handed over only to someone in the meeting (a participant now);
    - an email invitation stays an email (``invited_emails``): it admits the user whose *verified*
      address it is (the caller passes ``User.invitation_email``) and is never turned into a user id;
    - status only moves forward: scheduled -> live -> ended, scheduled -> ended (nobody came), or
      scheduled -> cancelled;
    - captions are on only while the meeting is live (turned on by the host, a co-host or an
      administrator; off again by them or when the meeting ends).
    Join rules for non-privileged users (privileged = host or co-host): not locked; invited when
    invite-only; the password unless invited.
    """

    id: MeetingId
    host_id: UserId
    title: str
    description: str = ""
    start_time: dt.datetime
    duration_minutes: int = DEFAULT_DURATION_MINUTES
    capacity: int = DEFAULT_CAPACITY
    password_hash: str | None = field(default=None, repr=False)
    settings: MeetingSettings = MeetingSettings()
    status: MeetingStatus = MeetingStatus.SCHEDULED
    locked: bool = False
    captions_on: bool = False
    co_hosts: set[UserId] = field(factory=set)
    invited_users: set[UserId] = field(factory=set)
    invited_emails: set[str] = field(factory=set)
    kicked: set[UserId] = field(factory=set)
    participants: dict[UserId, Participant] = field(factory=dict)
    attendees: set[UserId] = field(factory=set)
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    version: int = 0
    _events: list[DomainEvent] = field(factory=list, eq=False, repr=False, alias="_events")

    @classmethod
    def schedule(cls, *, meeting_id: MeetingId, host_id: UserId, title: str, description: str = "",
                 start_time: dt.datetime, duration_minutes: int = DEFAULT_DURATION_MINUTES,
                 capacity: int = DEFAULT_CAPACITY, password_hash: str | None = None,
                 settings: MeetingSettings = MeetingSettings(), now: dt.datetime) -> Meeting:
        meeting = cls(
            id=meeting_id, host_id=host_id, title=check_title(title), description=check_description(description),
            start_time=check_start_time(start_time), duration_minutes=check_duration(duration_minutes),
            capacity=check_capacity(capacity), password_hash=password_hash, settings=settings,
            created_at=now, updated_at=now,
        )
        meeting._record(ev.MeetingCreated(occurred_at=now, meeting_id=meeting_id, host_id=host_id))
        return meeting

    # -- queries -----------------------------------------------------------------------------------

    def role_of(self, user_id: UserId, email: str | None = None) -> MeetingRole | None:
        if user_id in self.kicked:
            return None
        if user_id == self.host_id:
            return MeetingRole.HOST
        if user_id in self.co_hosts:
            return MeetingRole.CO_HOST
        if user_id in self.participants or user_id in self.attendees or self.is_invited(user_id, email):
            return MeetingRole.PARTICIPANT
        return None

    def is_privileged(self, user_id: UserId) -> bool:
        return user_id == self.host_id or user_id in self.co_hosts

    def is_invited(self, user_id: UserId, email: str | None) -> bool:
        """A kicked user is never invited, even when their email still is."""
        return user_id not in self.kicked and (
            user_id in self.invited_users or (email is not None and email in self.invited_emails))

    def password_needed_for(self, user_id: UserId, email: str | None) -> bool:
        return self.password_hash is not None and not (
            self.is_privileged(user_id) or self.is_invited(user_id, email))

    def can_manage(self, actor: Actor) -> bool:
        """Host, co-hosts and administrators see the meeting's private lists."""
        return actor.is_admin or self.is_privileged(actor.user_id)

    def can_view(self, actor: Actor, email: str | None) -> bool:
        """Open meetings are visible to anyone signed in (to join by link); invite-only meetings only
        to the people they concern."""
        if not self.settings.invite_only or self.can_manage(actor):
            return True
        return actor.user_id not in self.kicked and (actor.user_id in self.attendees
                                                     or self.is_invited(actor.user_id, email))

    @property
    def ends_at(self) -> dt.datetime:
        return self.start_time + dt.timedelta(minutes=self.duration_minutes)

    # -- joining and leaving -----------------------------------------------------------------------

    def join(self, user_id: UserId, *, email: str | None, password_ok: bool | None, now: dt.datetime) -> bool:
        """Adds the user; returns False when already in (idempotent).  ``password_ok`` is None when
        no password was given, else whether it matched ``password_hash``."""
        self._require_open()
        if user_id in self.kicked:
            raise e.KickedFromMeeting("you were removed from this meeting")
        if user_id in self.participants:
            return False
        privileged = self.is_privileged(user_id)
        invited = self.is_invited(user_id, email)
        if self.locked and not privileged:
            raise e.MeetingLocked("the meeting is locked")
        if self.settings.invite_only and not (privileged or invited):
            raise e.InvitationRequired("this meeting is for invited people only")
        if self.password_needed_for(user_id, email):
            if password_ok is None:
                raise e.PasswordRequired("this meeting needs a password")
            if not password_ok:
                raise e.WrongMeetingPassword("wrong meeting password")
        if len(self.participants) >= self.capacity:
            raise e.MeetingFull("the meeting is full", capacity=self.capacity)
        self.participants[user_id] = Participant(user_id=user_id, joined_at=now)
        self.attendees.add(user_id)
        if self.status is MeetingStatus.SCHEDULED:
            self.status = MeetingStatus.LIVE
            self.started_at = now
            self._record(ev.MeetingStarted(occurred_at=now, meeting_id=self.id))
        role = self.role_of(user_id)
        self._record(ev.ParticipantJoined(occurred_at=now, meeting_id=self.id, user_id=user_id,
                                          role=role.value if role else MeetingRole.PARTICIPANT.value))
        self.updated_at = now
        return True

    def leave(self, user_id: UserId, *, now: dt.datetime) -> None:
        if user_id not in self.participants:
            raise e.NotAParticipant("you are not in this meeting")
        del self.participants[user_id]
        self.updated_at = now
        self._record(ev.ParticipantLeft(occurred_at=now, meeting_id=self.id, user_id=user_id))

    # -- host actions ------------------------------------------------------------------------------

    def update(self, actor: Actor, *, now: dt.datetime, title: str | None = None,
               description: str | None = None, start_time: dt.datetime | None = None,
               duration_minutes: int | None = None, capacity: int | None = None,
               password_hash: str | None = None, clear_password: bool = False,
               settings: MeetingSettings | None = None) -> None:
        self._require_host(actor)
        self._require_open()
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"] = check_title(title)
        if description is not None:
            changes["description"] = check_description(description)
        if start_time is not None:
            if self.status is MeetingStatus.LIVE:
                raise e.InvalidMeetingAction("a live meeting cannot be rescheduled")
            changes["start_time"] = check_start_time(start_time)
        if duration_minutes is not None:
            changes["duration_minutes"] = check_duration(duration_minutes)
        if capacity is not None:
            check_capacity(capacity)
            if capacity < len(self.participants):
                raise e.InvalidMeetingData("capacity is below the number of people in the meeting",
                                           field="capacity")
            changes["capacity"] = capacity
        if clear_password:
            changes["password_hash"] = None
        elif password_hash is not None:
            changes["password_hash"] = password_hash
        if settings is not None:
            changes["settings"] = settings
        changed = tuple(sorted(k for k, v in changes.items() if getattr(self, k) != v or k == "password_hash"))
        for k, v in changes.items():
            setattr(self, k, v)
        if changed:
            self.updated_at = now
            self._record(ev.MeetingUpdated(occurred_at=now, meeting_id=self.id,
                                           fields=tuple("password" if f == "password_hash" else f for f in changed)))

    def invite(self, actor: Actor, *, now: dt.datetime, user_id: UserId | None = None,
               email: str | None = None, limit: int | None = None) -> None:
        """At most ``limit`` invitations (ids and emails together); repeating one is no change."""
        self._require_privileged(actor)
        self._require_open()
        if user_id is not None:
            if user_id in self.kicked:
                raise e.InvalidMeetingAction("that user was removed from this meeting")
            if user_id == self.host_id or user_id in self.invited_users:
                return
            self._require_room_for_an_invitation(limit)
            self.invited_users.add(user_id)
        elif email is not None:
            if email in self.invited_emails:
                return
            self._require_room_for_an_invitation(limit)
            self.invited_emails.add(email)
        else:
            raise e.InvalidMeetingData("invite a user id or an email", field="user_id")
        self.updated_at = now
        self._record(ev.UserInvited(occurred_at=now, meeting_id=self.id, by=actor.user_id, user_id=user_id,
                                    email=email))

    def kick(self, actor: Actor, target: UserId, *, now: dt.datetime) -> None:
        """Host and co-hosts remove someone for good; co-hosts cannot remove the host or co-hosts."""
        self._require_privileged(actor)
        self._require_open()
        if target == actor.user_id:
            raise e.InvalidMeetingAction("you cannot remove yourself; leave instead")
        if target == self.host_id:
            raise e.InvalidMeetingAction("the host cannot be removed")
        if target in self.co_hosts and actor.user_id != self.host_id and not actor.is_admin:
            raise e.NotMeetingHost("only the host can remove a co-host")
        if target in self.kicked:
            return
        self.participants.pop(target, None)
        self.attendees.discard(target)  # nor do they keep the meeting among those they joined
        self.co_hosts.discard(target)
        self.invited_users.discard(target)
        self.kicked.add(target)
        self.updated_at = now
        self._record(ev.ParticipantKicked(occurred_at=now, meeting_id=self.id, user_id=target, by=actor.user_id))

    def promote(self, actor: Actor, target: UserId, *, now: dt.datetime) -> None:
        self._require_host(actor)
        self._require_open()
        if target == self.host_id:
            raise e.InvalidMeetingAction("the host is already in charge")
        if target in self.kicked:
            raise e.InvalidMeetingAction("that user was removed from this meeting")
        if target in self.co_hosts:
            return
        self.co_hosts.add(target)
        self.updated_at = now
        self._record(ev.CoHostPromoted(occurred_at=now, meeting_id=self.id, user_id=target, by=actor.user_id))

    def demote(self, actor: Actor, target: UserId, *, now: dt.datetime) -> None:
        self._require_host(actor)
        self._require_open()
        if target not in self.co_hosts:
            raise e.InvalidMeetingAction("that user is not a co-host")
        self.co_hosts.discard(target)
        self.updated_at = now
        self._record(ev.CoHostDemoted(occurred_at=now, meeting_id=self.id, user_id=target, by=actor.user_id))

    def transfer_host(self, actor: Actor, target: UserId, *, now: dt.datetime) -> None:
        """The old host stays on as a co-host.  Only to someone in the meeting now: being there is
        the nearest thing to agreeing (a meeting is never pushed onto a stranger, nor onto someone
        who left it), and the new host can run it at once."""
        self._require_host(actor)
        self._require_open()
        if target == self.host_id:
            raise e.InvalidMeetingAction("that user is already the host")
        if target in self.kicked:
            raise e.InvalidMeetingAction("that user was removed from this meeting")
        if target not in self.participants:
            raise e.InvalidMeetingAction("the host can be handed only to someone in the meeting")
        old = self.host_id
        self.host_id = target
        self.co_hosts.discard(target)
        self.co_hosts.add(old)
        self.updated_at = now
        self._record(ev.HostTransferred(occurred_at=now, meeting_id=self.id, from_user_id=old, to_user_id=target))

    def lock(self, actor: Actor, *, now: dt.datetime) -> None:
        self._require_privileged(actor)
        self._require_open()
        if not self.locked:
            self.locked = True
            self.updated_at = now
            self._record(ev.MeetingLocked(occurred_at=now, meeting_id=self.id, by=actor.user_id))

    def unlock(self, actor: Actor, *, now: dt.datetime) -> None:
        self._require_privileged(actor)
        self._require_open()
        if self.locked:
            self.locked = False
            self.updated_at = now
            self._record(ev.MeetingUnlocked(occurred_at=now, meeting_id=self.id, by=actor.user_id))

    def turn_captions_on(self, actor: Actor, *, now: dt.datetime) -> None:
        """Live captions for everyone in the meeting; only while it is live (someone is in it)."""
        self._require_privileged(actor)
        self._require_open()
        if self.status is not MeetingStatus.LIVE:
            raise e.InvalidMeetingAction("captions can be turned on once the meeting has started")
        if not self.captions_on:
            self.captions_on = True
            self.updated_at = now
            self._record(ev.CaptionsTurnedOn(occurred_at=now, meeting_id=self.id, by=actor.user_id))

    def turn_captions_off(self, actor: Actor, *, now: dt.datetime) -> None:
        self._require_privileged(actor)
        self._require_open()
        if self.captions_on:
            self.captions_on = False
            self.updated_at = now
            self._record(ev.CaptionsTurnedOff(occurred_at=now, meeting_id=self.id, by=actor.user_id))

    def end(self, actor: Actor, *, now: dt.datetime) -> None:
        """Host (or an administrator) ends the meeting for everyone; captions end with it (MeetingEnded
        says so: no CaptionsTurnedOff of its own)."""
        self._require_host(actor)
        self._require_open()
        self.participants.clear()
        self.captions_on = False
        self.status = MeetingStatus.ENDED
        self.ended_at = now
        self.updated_at = now
        self._record(ev.MeetingEnded(occurred_at=now, meeting_id=self.id, by=actor.user_id))

    def cancel(self, actor: Actor, *, now: dt.datetime) -> None:
        self._require_host(actor)
        if self.status is not MeetingStatus.SCHEDULED:
            raise e.InvalidMeetingAction("only a meeting that has not started can be cancelled; end it instead")
        self.status = MeetingStatus.CANCELLED
        self.ended_at = now
        self.updated_at = now
        self._record(ev.MeetingCancelled(occurred_at=now, meeting_id=self.id, by=actor.user_id))

    def delete(self, actor: Actor, *, now: dt.datetime) -> None:
        """Marks the deletion (the repository removes the row); everyone in it is out."""
        self._require_host(actor)
        self.participants.clear()
        self._record(ev.MeetingDeleted(occurred_at=now, meeting_id=self.id, by=actor.user_id))

    # -- plumbing ----------------------------------------------------------------------------------

    def pull_events(self) -> list[DomainEvent]:
        out, self._events = self._events, []
        return out

    def copy(self) -> Meeting:
        return evolve(self, co_hosts=set(self.co_hosts), invited_users=set(self.invited_users),
                      invited_emails=set(self.invited_emails), kicked=set(self.kicked),
                      participants=dict(self.participants), attendees=set(self.attendees), _events=[])

    def _record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def _require_open(self) -> None:
        if self.status is MeetingStatus.ENDED:
            raise e.MeetingEnded("the meeting has ended")
        if self.status is MeetingStatus.CANCELLED:
            raise e.MeetingCancelled("the meeting was cancelled")

    def _require_room_for_an_invitation(self, limit: int | None) -> None:
        if limit is not None and len(self.invited_users) + len(self.invited_emails) >= limit:
            raise e.InvitationsLimitReached(f"a meeting can have at most {limit} invitations", limit=limit)

    def _require_host(self, actor: Actor) -> None:
        if not (actor.is_admin or actor.user_id == self.host_id):
            raise e.NotMeetingHost("only the host can do that")

    def _require_privileged(self, actor: Actor) -> None:
        if not (actor.is_admin or self.is_privileged(actor.user_id)):
            raise e.NotMeetingHost("only the host or a co-host can do that")
