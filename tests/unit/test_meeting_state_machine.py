"""Random walks over the pure Meeting aggregate, checked against a small model of its rules.

Every rule predicts the outcome from the model (an error class, or the change), performs the call on
the aggregate, and demands that prediction.  The invariants repeat the aggregate's docstring.
"""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.meetings import errors as e
from domain.meetings.model import Meeting, MeetingSettings, MeetingStatus
from domain.meetings.rules import MAX_CAPACITY
from domain.shared.actor import Actor
from domain.shared.errors import DomainError
from domain.shared.ids import MeetingId, UserId

USERS = [UserId(f"user-{i}") for i in range(6)]
ADMIN = Actor(UserId("admin-0"), is_admin=True)
T0 = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)
FORWARD = {
    MeetingStatus.SCHEDULED: {MeetingStatus.SCHEDULED, MeetingStatus.LIVE, MeetingStatus.ENDED,
                              MeetingStatus.CANCELLED},
    MeetingStatus.LIVE: {MeetingStatus.LIVE, MeetingStatus.ENDED},
    MeetingStatus.ENDED: {MeetingStatus.ENDED},
    MeetingStatus.CANCELLED: {MeetingStatus.CANCELLED},
}

users = st.sampled_from(USERS)
actors = st.one_of(users.map(Actor), st.just(ADMIN))


def email_of(user_id: UserId) -> str:
    return f"{user_id}@example.com"


@attrs.define
class Model:
    """What the meeting should look like, kept by the rules alone."""

    host: UserId
    capacity: int
    has_password: bool
    invite_only: bool
    status: MeetingStatus = MeetingStatus.SCHEDULED
    locked: bool = False
    captions_on: bool = False
    co_hosts: set[UserId] = attrs.field(factory=set)
    invited_users: set[UserId] = attrs.field(factory=set)
    invited_emails: set[str] = attrs.field(factory=set)
    kicked: set[UserId] = attrs.field(factory=set)
    participants: set[UserId] = attrs.field(factory=set)
    attendees: set[UserId] = attrs.field(factory=set)

    @property
    def is_open(self) -> bool:
        return self.status in (MeetingStatus.SCHEDULED, MeetingStatus.LIVE)

    def closed_error(self) -> type[DomainError] | None:
        if self.status is MeetingStatus.ENDED:
            return e.MeetingEnded
        if self.status is MeetingStatus.CANCELLED:
            return e.MeetingCancelled
        return None

    def privileged(self, user: UserId) -> bool:
        return user == self.host or user in self.co_hosts

    def invited(self, user: UserId, email: str | None) -> bool:
        return user in self.invited_users or (email is not None and email in self.invited_emails)

    def is_host_or_admin(self, actor: Actor) -> bool:
        return actor.is_admin or actor.user_id == self.host

    def is_privileged_or_admin(self, actor: Actor) -> bool:
        return actor.is_admin or self.privileged(actor.user_id)


class MeetingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.meeting: Meeting
        self.model: Model
        self.ever_kicked: set[UserId] = set()
        self.status_before = MeetingStatus.SCHEDULED

    # -- plumbing --------------------------------------------------------------------------------

    def tick(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now

    def expect(self, predicted: type[DomainError] | None, call) -> bool:  # type: ignore[no-untyped-def]
        """Runs ``call``; demands the predicted error class (exactly), or success when None."""
        self.status_before = self.meeting.status
        before = self.meeting.copy()
        try:
            call()
        except DomainError as err:
            assert type(err) is predicted, f"expected {predicted and predicted.__name__}, got {err!r}"
            assert self.meeting == before, "a refused action changed the meeting"
            assert self.meeting.pull_events() == [], "a refused action recorded events"
            return False
        assert predicted is None, f"expected {predicted.__name__}, but the call succeeded"
        return True

    def events(self) -> list[str]:
        return [event.name for event in self.meeting.pull_events()]

    # -- set-up ----------------------------------------------------------------------------------

    @initialize(host=users, capacity=st.integers(2, 5), has_password=st.booleans(), invite_only=st.booleans())
    def schedule(self, host: UserId, capacity: int, has_password: bool, invite_only: bool) -> None:
        self.meeting = Meeting.schedule(
            meeting_id=MeetingId("meeting-1"), host_id=host, title="  Weekly   sync ", start_time=T0,
            capacity=capacity, password_hash="hash-of-the-password" if has_password else None,
            settings=MeetingSettings(invite_only=invite_only), now=self.now)
        assert self.meeting.title == "Weekly sync"
        assert self.events() == ["meeting.created"]
        self.model = Model(host=host, capacity=capacity, has_password=has_password, invite_only=invite_only)
        self.first_host = host

    # -- joining and leaving ---------------------------------------------------------------------

    @rule(user=users, password_ok=st.sampled_from([None, True, False]), with_email=st.booleans())
    def join(self, user: UserId, password_ok: bool | None, with_email: bool) -> None:
        m = self.model
        email = email_of(user) if with_email else None
        privileged, invited = m.privileged(user), m.invited(user, email)
        predicted: type[DomainError] | None = m.closed_error()
        already_in = False
        if predicted is None:
            if user in m.kicked:
                predicted = e.KickedFromMeeting
            elif user in m.participants:
                already_in = True
            elif m.locked and not privileged:
                predicted = e.MeetingLocked
            elif m.invite_only and not (privileged or invited):
                predicted = e.InvitationRequired
            elif m.has_password and not (privileged or invited) and password_ok is None:
                predicted = e.PasswordRequired
            elif m.has_password and not (privileged or invited) and password_ok is False:
                predicted = e.WrongMeetingPassword
            elif len(m.participants) >= m.capacity:
                predicted = e.MeetingFull
        result: list[bool] = []
        now = self.tick()
        if not self.expect(predicted, lambda: result.append(
                self.meeting.join(user, email=email, password_ok=password_ok, now=now))):
            return
        if already_in:
            assert result == [False]
            assert self.events() == []
            return
        assert result == [True]
        expected_events = ["meeting.participant_joined"]
        if m.status is MeetingStatus.SCHEDULED:
            expected_events.insert(0, "meeting.started")
            m.status = MeetingStatus.LIVE
            assert self.meeting.started_at == now
        assert self.events() == expected_events
        assert self.meeting.participants[user].joined_at == now
        m.participants.add(user)
        m.attendees.add(user)

    @rule(user=users)
    def leave(self, user: UserId) -> None:
        predicted = None if user in self.model.participants else e.NotAParticipant
        if self.expect(predicted, lambda: self.meeting.leave(user, now=self.tick())):
            self.model.participants.discard(user)
            assert self.events() == ["meeting.participant_left"]

    # -- host actions ----------------------------------------------------------------------------

    @rule(actor=actors, who=users, by_email=st.booleans(), limit=st.one_of(st.none(), st.integers(0, 4)))
    def invite(self, actor: Actor, who: UserId, by_email: bool, limit: int | None) -> None:
        m = self.model
        predicted: type[DomainError] | None
        if not m.is_privileged_or_admin(actor):
            predicted = e.NotMeetingHost
        else:
            predicted = m.closed_error()
        if predicted is None and not by_email and who in m.kicked:
            predicted = e.InvalidMeetingAction
        repeated = email_of(who) in m.invited_emails if by_email else (who == m.host or who in m.invited_users)
        if (predicted is None and not repeated and limit is not None
                and len(m.invited_users) + len(m.invited_emails) >= limit):
            predicted = e.InvitationsLimitReached
        if by_email:
            call = lambda: self.meeting.invite(actor, now=self.tick(), email=email_of(who), limit=limit)  # noqa: E731
        else:
            call = lambda: self.meeting.invite(actor, now=self.tick(), user_id=who, limit=limit)  # noqa: E731
        if not self.expect(predicted, call):
            return
        if by_email:
            noop = email_of(who) in m.invited_emails
            m.invited_emails.add(email_of(who))
        else:
            noop = who == m.host or who in m.invited_users
            if not noop:
                m.invited_users.add(who)
        assert self.events() == ([] if noop else ["meeting.user_invited"])

    @rule(actor=actors)
    def invite_nobody(self, actor: Actor) -> None:
        m = self.model
        predicted = e.NotMeetingHost if not m.is_privileged_or_admin(actor) else (
            m.closed_error() or e.InvalidMeetingData)
        self.expect(predicted, lambda: self.meeting.invite(actor, now=self.tick()))

    @rule(actor=actors, who=users)
    def kick(self, actor: Actor, who: UserId) -> None:
        m = self.model
        predicted: type[DomainError] | None = None
        if not m.is_privileged_or_admin(actor):
            predicted = e.NotMeetingHost
        elif m.closed_error():
            predicted = m.closed_error()
        elif who == actor.user_id or who == m.host:
            predicted = e.InvalidMeetingAction
        elif who in m.co_hosts and not m.is_host_or_admin(actor):
            predicted = e.NotMeetingHost
        if not self.expect(predicted, lambda: self.meeting.kick(actor, who, now=self.tick())):
            return
        if who in m.kicked:
            assert self.events() == []
            return
        assert self.events() == ["meeting.participant_kicked"]
        m.kicked.add(who)
        self.ever_kicked.add(who)
        for group in (m.participants, m.attendees, m.co_hosts, m.invited_users):
            group.discard(who)

    @rule(actor=actors, who=users)
    def promote(self, actor: Actor, who: UserId) -> None:
        m = self.model
        predicted: type[DomainError] | None = None
        if not m.is_host_or_admin(actor):
            predicted = e.NotMeetingHost
        elif m.closed_error():
            predicted = m.closed_error()
        elif who == m.host or who in m.kicked:
            predicted = e.InvalidMeetingAction
        if not self.expect(predicted, lambda: self.meeting.promote(actor, who, now=self.tick())):
            return
        assert self.events() == ([] if who in m.co_hosts else ["meeting.cohost_promoted"])
        m.co_hosts.add(who)

    @rule(actor=actors, who=users)
    def demote(self, actor: Actor, who: UserId) -> None:
        m = self.model
        predicted: type[DomainError] | None = None
        if not m.is_host_or_admin(actor):
            predicted = e.NotMeetingHost
        elif m.closed_error():
            predicted = m.closed_error()
        elif who not in m.co_hosts:
            predicted = e.InvalidMeetingAction
        if self.expect(predicted, lambda: self.meeting.demote(actor, who, now=self.tick())):
            assert self.events() == ["meeting.cohost_demoted"]
            m.co_hosts.discard(who)

    @rule(actor=actors, who=users)
    def transfer_host(self, actor: Actor, who: UserId) -> None:
        m = self.model
        predicted: type[DomainError] | None = None
        if not m.is_host_or_admin(actor):
            predicted = e.NotMeetingHost
        elif m.closed_error():
            predicted = m.closed_error()
        elif who == m.host or who in m.kicked or who not in m.participants:
            predicted = e.InvalidMeetingAction
        if self.expect(predicted, lambda: self.meeting.transfer_host(actor, who, now=self.tick())):
            assert self.events() == ["meeting.host_transferred"]
            m.co_hosts.discard(who)
            m.co_hosts.add(m.host)
            m.host = who

    @rule(actor=actors, lock=st.booleans())
    def lock_or_unlock(self, actor: Actor, lock: bool) -> None:
        m = self.model
        predicted = e.NotMeetingHost if not m.is_privileged_or_admin(actor) else m.closed_error()
        method = self.meeting.lock if lock else self.meeting.unlock
        if not self.expect(predicted, lambda: method(actor, now=self.tick())):
            return
        changed = m.locked != lock
        assert self.events() == ([("meeting.locked" if lock else "meeting.unlocked")] if changed else [])
        m.locked = lock

    @rule(actor=actors, on=st.booleans())
    def captions_on_or_off(self, actor: Actor, on: bool) -> None:
        m = self.model
        predicted = e.NotMeetingHost if not m.is_privileged_or_admin(actor) else m.closed_error()
        if predicted is None and on and m.status is not MeetingStatus.LIVE:
            predicted = e.InvalidMeetingAction
        method = self.meeting.turn_captions_on if on else self.meeting.turn_captions_off
        if not self.expect(predicted, lambda: method(actor, now=self.tick())):
            return
        changed = m.captions_on != on
        assert self.events() == ([("meeting.captions_on" if on else "meeting.captions_off")] if changed else [])
        m.captions_on = on

    @rule(actor=actors)
    def end(self, actor: Actor) -> None:
        m = self.model
        predicted = e.NotMeetingHost if not m.is_host_or_admin(actor) else m.closed_error()
        now = self.tick()
        if self.expect(predicted, lambda: self.meeting.end(actor, now=now)):
            assert self.events() == ["meeting.ended"]
            assert self.meeting.ended_at == now
            m.status = MeetingStatus.ENDED
            m.participants.clear()
            m.captions_on = False

    @rule(actor=actors)
    def cancel(self, actor: Actor) -> None:
        m = self.model
        predicted: type[DomainError] | None = None
        if not m.is_host_or_admin(actor):
            predicted = e.NotMeetingHost
        elif m.status is not MeetingStatus.SCHEDULED:
            predicted = e.InvalidMeetingAction
        if self.expect(predicted, lambda: self.meeting.cancel(actor, now=self.tick())):
            assert self.events() == ["meeting.cancelled"]
            m.status = MeetingStatus.CANCELLED

    @rule(actor=actors, capacity=st.one_of(st.integers(1, 6), st.sampled_from([MAX_CAPACITY, MAX_CAPACITY + 1])))
    def update_capacity(self, actor: Actor, capacity: int) -> None:
        m = self.model
        predicted: type[DomainError] | None = None
        if not m.is_host_or_admin(actor):
            predicted = e.NotMeetingHost
        elif m.closed_error():
            predicted = m.closed_error()
        elif not 2 <= capacity <= MAX_CAPACITY or capacity < len(m.participants):
            predicted = e.InvalidMeetingData
        if self.expect(predicted, lambda: self.meeting.update(actor, now=self.tick(), capacity=capacity)):
            assert self.events() == ([] if capacity == m.capacity else ["meeting.updated"])
            m.capacity = capacity

    # -- the model agrees ------------------------------------------------------------------------

    @invariant()
    def the_meeting_is_what_the_rules_predict(self) -> None:
        mt, m = self.meeting, self.model
        assert (mt.status, mt.host_id, mt.capacity, mt.locked) == (m.status, m.host, m.capacity, m.locked)
        assert mt.captions_on == m.captions_on
        assert not mt.captions_on or mt.status is MeetingStatus.LIVE  # captions only in a live meeting
        assert mt.co_hosts == m.co_hosts
        assert mt.invited_users == m.invited_users
        assert mt.invited_emails == m.invited_emails
        assert mt.kicked == m.kicked
        assert set(mt.participants) == m.participants
        assert mt.attendees == m.attendees

    # -- the aggregate's docstring ---------------------------------------------------------------

    @invariant()
    def participants_never_exceed_capacity(self) -> None:
        assert len(self.meeting.participants) <= self.meeting.capacity

    @invariant()
    def there_is_exactly_one_host_who_is_never_a_co_host_nor_kicked(self) -> None:
        mt = self.meeting
        assert mt.host_id in USERS
        assert mt.host_id not in mt.co_hosts
        assert mt.host_id not in mt.kicked

    @invariant()
    def an_ended_or_cancelled_meeting_is_empty(self) -> None:
        if not self.meeting.status.is_open:
            assert self.meeting.participants == {}

    @invariant()
    def a_kicked_user_is_never_a_participant_co_host_or_invited_again(self) -> None:
        mt = self.meeting
        assert self.ever_kicked <= mt.kicked
        for user in self.ever_kicked:
            assert user not in mt.participants
            assert user not in mt.co_hosts
            assert not mt.is_invited(user, email_of(user)), f"{user} was kicked but is still invited"
            assert user not in mt.attendees
            assert mt.role_of(user, email_of(user)) is None
            assert mt.can_view(Actor(user), email_of(user)) is not mt.settings.invite_only

    @invariant()
    def the_host_was_in_the_meeting_when_it_was_handed_over(self) -> None:
        assert self.meeting.host_id == self.first_host or self.meeting.host_id in self.meeting.attendees

    @invariant()
    def status_moves_only_forward(self) -> None:
        assert self.meeting.status in FORWARD[self.status_before]

    @invariant()
    def attendees_include_every_participant(self) -> None:
        assert set(self.meeting.participants) <= self.meeting.attendees
        for user, participant in self.meeting.participants.items():
            assert participant.user_id == user


MeetingMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestMeetingStateMachine = MeetingMachine.TestCase
