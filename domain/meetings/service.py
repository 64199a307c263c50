"""Meeting use cases: in one unit of work, load the aggregate, ask it, save and commit (retrying on a
concurrent change); the unit writes the aggregate's events to the outbox with the change.

Changes of one meeting that arrive while another change of it is being committed in this process
are applied together, in arrival order, in the next unit (``combiner``): one load and one commit for
all of them, each caller getting its own outcome.  That is what keeps a busy meeting (everyone
joining at once) from queueing one round trip pair per person."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from attrs import define

from domain.meetings import commands as c
from domain.meetings.caps import require_room_to_host
from domain.meetings.errors import MeetingHidden, ParticipantsHidden
from domain.meetings.guesses import verify_guess
from domain.meetings.model import Meeting, MeetingRole, MeetingSettings, Participant
from domain.meetings.rules import MeetingLimits, check_meeting_password
from domain.shared.actor import Actor
from domain.shared.errors import ConcurrentModification, DomainError
from domain.shared.ids import MeetingId, UserId, new_id
from domain.shared.pagination import Page, PageRequest
from domain.users.errors import UserNotFound
from domain.users.model import normalize_email
from ports.clock import Clock
from ports.combining import KeyedCombiner
from ports.limits import AttemptLimiter
from ports.locks import KeyedLocks
from ports.meeting_queries import MeetingQueries
from ports.meetings import MeetingRepository
from ports.uow import UnitOfWorkFactory
from ports.users import PasswordHasher, UserRepository

SAVE_ATTEMPTS = 8
Change = Callable[[Meeting], Awaitable[None]]


class _VerifyPassword(Exception):
    """Raised out of a join's change when the password must be checked first: argon2 is slow, so it
    runs outside the unit and the combined batch, and the join is submitted again."""

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(meeting.id)
        self.meeting = meeting


@define(kw_only=True)
class MeetingService:
    """Changes go through ``uow`` (one transaction each); ``meetings``, ``queries`` and ``users`` serve
    the reads."""

    uow: UnitOfWorkFactory
    meetings: MeetingRepository
    queries: MeetingQueries
    users: UserRepository
    hasher: PasswordHasher
    clock: Clock
    guesses: AttemptLimiter
    limits: MeetingLimits = MeetingLimits()
    combiner: KeyedCombiner | None = None
    locks: KeyedLocks | None = None  # serialises one host's schedules, so the open-meetings cap holds

    async def schedule(self, actor: Actor, cmd: c.ScheduleMeeting) -> Meeting:
        """Rules: title 1-200 characters, duration 1-1440 minutes, capacity 2-1000 (default 100),
        optional password 4-64 characters stored hashed; the creator is the host."""
        now = self.clock.now()
        password_hash = None
        if cmd.password is not None:
            password_hash = await self.hasher.hash(check_meeting_password(cmd.password))
        meeting = Meeting.schedule(
            meeting_id=MeetingId(new_id()), host_id=actor.user_id, title=cmd.title, description=cmd.description,
            start_time=cmd.start_time or now, duration_minutes=cmd.duration_minutes, capacity=cmd.capacity,
            password_hash=password_hash, settings=cmd.settings, now=now,
        )
        async with self._hold(f"hosting:{actor.user_id}"):  # the cap holds against parallel schedules
            await require_room_to_host(self.queries, actor.user_id, self.limits)
            async with self.uow() as uow:
                await uow.meetings.add(meeting)
                await uow.commit()
        return meeting

    async def get(self, actor: Actor, meeting_id: MeetingId) -> Meeting:
        meeting = await self.meetings.get(meeting_id)
        if not meeting.can_view(actor, await self._email_if_invitations(actor, meeting)):
            raise MeetingHidden("this meeting is for invited people only")
        return meeting

    async def role_of(self, actor: Actor, meeting: Meeting) -> MeetingRole | None:
        return (await self.roles_of(actor, [meeting]))[0]

    async def roles_of(self, actor: Actor, meetings: list[Meeting]) -> list[MeetingRole | None]:
        """The caller's role in each meeting, looking their email up at most once, and only when an
        email invitation could decide a role."""
        roles = [m.role_of(actor.user_id) for m in meetings]
        if any(r is None and m.invited_emails for r, m in zip(roles, meetings)):
            email = await self._email_of(actor.user_id)
            roles = [r if r is not None else m.role_of(actor.user_id, email) for r, m in zip(roles, meetings)]
        return roles

    async def participants(self, actor: Actor, meeting_id: MeetingId) -> tuple[Meeting, list[Participant]]:
        """Rules: visible to the people in the meeting, its host and co-hosts, and administrators."""
        meeting = await self.meetings.get(meeting_id)
        if not (meeting.can_manage(actor) or actor.user_id in meeting.participants):
            raise ParticipantsHidden("only people in the meeting can see who is in it")
        return meeting, sorted(meeting.participants.values(), key=lambda p: (p.joined_at, p.user_id))

    async def list_mine(self, actor: Actor, relation: c.Relation, when: c.When, page: PageRequest) -> Page[Meeting]:
        return await self.queries.list_for_user(actor.user_id, await self._email_of(actor.user_id),
                                                 relation, when, page)

    async def update(self, actor: Actor, cmd: c.UpdateMeeting) -> Meeting:
        password_hash = None
        if cmd.password is not None and not cmd.clear_password:
            password_hash = await self.hasher.hash(check_meeting_password(cmd.password))

        def apply(m: Meeting) -> None:
            settings = None
            if (cmd.mute_on_join, cmd.allow_recording, cmd.invite_only, cmd.allow_analysis) != (None,) * 4:
                s = m.settings
                settings = MeetingSettings(
                    mute_on_join=s.mute_on_join if cmd.mute_on_join is None else cmd.mute_on_join,
                    allow_recording=s.allow_recording if cmd.allow_recording is None else cmd.allow_recording,
                    invite_only=s.invite_only if cmd.invite_only is None else cmd.invite_only,
                    allow_analysis=s.allow_analysis if cmd.allow_analysis is None else cmd.allow_analysis)
            m.update(actor, now=self.clock.now(), title=cmd.title, description=cmd.description,
                     start_time=cmd.start_time, duration_minutes=cmd.duration_minutes, capacity=cmd.capacity,
                     password_hash=password_hash, clear_password=cmd.clear_password, settings=settings)

        return await self._change(cmd.meeting_id, apply)

    async def delete(self, actor: Actor, meeting_id: MeetingId) -> None:
        async with self.uow() as uow:
            meeting = await uow.meetings.get(meeting_id)
            meeting.delete(actor, now=self.clock.now())
            await uow.meetings.delete(meeting_id)
            uow.collect(*meeting.pull_events())
            await uow.commit()

    async def join(self, actor: Actor, cmd: c.JoinMeeting) -> Meeting:
        """Rules live in Meeting.join; the password is verified here because hashing is a port.  The
        meeting is loaded once, unless a password must be verified: argon2 is slow, so that happens
        outside the unit of work, and the meeting is loaded again after it."""
        verified: dict[str, bool] = {}
        looked_up: list[str | None] = []  # the caller's invitation email, looked up at most once

        async def join(m: Meeting) -> None:
            if m.invited_emails and not looked_up:
                looked_up.append(await self._email_of(actor.user_id))
            email = looked_up[0] if m.invited_emails else None
            needed = cmd.password is not None and m.password_needed_for(actor.user_id, email)
            if needed and m.password_hash is not None and m.password_hash not in verified:
                raise _VerifyPassword(m)
            password_ok = verified[m.password_hash] if needed and m.password_hash is not None else None
            m.join(actor.user_id, email=email, password_ok=password_ok, now=self.clock.now())

        for _ in range(SAVE_ATTEMPTS):
            try:
                return await self._submit(cmd.meeting_id, join)
            except _VerifyPassword as need:
                # The guess is reserved before argon2 runs (TooManyPasswordGuesses when used up).
                assert cmd.password is not None and need.meeting.password_hash is not None
                verified[need.meeting.password_hash] = await verify_guess(
                    self.guesses, self.hasher, self.limits, need.meeting, actor.user_id, cmd.password,
                    self.clock.now())
        raise ConcurrentModification("the meeting is busy; try again")

    async def leave(self, actor: Actor, meeting_id: MeetingId) -> Meeting:
        return await self._change(meeting_id, lambda m: m.leave(actor.user_id, now=self.clock.now()))

    async def invite(self, actor: Actor, cmd: c.Invite) -> Meeting:
        """Rules: host or co-host; by user id or username (the user must exist) or by email.  An email
        stays an email (never looked up: the host must not learn which account owns it) and admits
        whoever holds it as a verified address (User.invitation_email).  A username is only ever
        matched against usernames, never against email addresses."""
        user_id, email = cmd.user_id, None
        if cmd.email is not None:
            email = normalize_email(cmd.email)
        elif cmd.username is not None:
            user_id = await self._user_named(cmd.username)
        elif user_id is not None:
            await self.users.get(user_id)
        return await self._change(cmd.meeting_id, lambda m: m.invite(
            actor, now=self.clock.now(), user_id=user_id, email=email, limit=self.limits.invitations_per_meeting))

    async def _user_named(self, username: str) -> UserId:
        found = await self.users.find_by_login(username)
        if found is None or found.username.lower() != username.strip().lower():
            raise UserNotFound("no user has that username", username=username)
        return found.id

    async def host_action(self, actor: Actor, meeting_id: MeetingId, action: c.HostAction,
                          target: UserId) -> Meeting:
        if action in (c.HostAction.KICK, c.HostAction.PROMOTE, c.HostAction.TRANSFER_HOST):
            try:
                await self.users.get(target)
            except UserNotFound:
                raise UserNotFound("no such user", user_id=target) from None
        method = {c.HostAction.KICK: Meeting.kick, c.HostAction.PROMOTE: Meeting.promote,
                  c.HostAction.DEMOTE: Meeting.demote, c.HostAction.TRANSFER_HOST: Meeting.transfer_host}[action]
        return await self._change(meeting_id, lambda m: method(m, actor, target, now=self.clock.now()))

    async def meeting_action(self, actor: Actor, meeting_id: MeetingId, action: c.MeetingAction) -> Meeting:
        method = {c.MeetingAction.LOCK: Meeting.lock, c.MeetingAction.UNLOCK: Meeting.unlock,
                  c.MeetingAction.CAPTIONS_ON: Meeting.turn_captions_on,
                  c.MeetingAction.CAPTIONS_OFF: Meeting.turn_captions_off,
                  c.MeetingAction.END: Meeting.end, c.MeetingAction.CANCEL: Meeting.cancel}[action]
        return await self._change(meeting_id, lambda m: method(m, actor, now=self.clock.now()))

    async def _change(self, meeting_id: MeetingId, apply: Callable[[Meeting], None]) -> Meeting:
        async def change(m: Meeting) -> None:
            apply(m)

        return await self._submit(meeting_id, change)

    async def _submit(self, meeting_id: MeetingId, change: Change) -> Meeting:
        if self.combiner is not None:
            outcome = await self.combiner.submit(meeting_id, change, lambda changes: self._apply(meeting_id, changes))
            return outcome  # type: ignore[no-any-return]
        [outcome] = await self._apply(meeting_id, [change])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _apply(self, meeting_id: MeetingId, changes: Sequence[Change]) -> list[Meeting | BaseException]:
        """Applies the changes in order to one load, each on a trial copy (a refused change leaves no
        trace), and commits what they raised in one unit, retrying the lot on a concurrent change.  A
        change that raised no event (inviting someone invited already) writes nothing."""
        for _ in range(SAVE_ATTEMPTS):
            async with self.uow() as uow:
                current = await uow.meetings.get(meeting_id)
                outcomes: list[BaseException | None] = []
                events = []
                for change in changes:
                    trial = current.copy()
                    try:
                        await change(trial)
                    except (DomainError, _VerifyPassword) as refused:
                        outcomes.append(refused)
                        continue
                    events.extend(trial.pull_events())
                    current = trial
                    outcomes.append(None)
                if events:
                    try:
                        await uow.meetings.save(current)
                        uow.collect(*events)
                        await uow.commit()
                    except ConcurrentModification:
                        continue
            return [outcome if outcome is not None else current.copy() for outcome in outcomes]
        raise ConcurrentModification("the meeting is busy; try again")

    def _hold(self, key: str) -> AbstractAsyncContextManager[None]:
        return self.locks.hold(key) if self.locks is not None else contextlib.nullcontext()

    async def _email_if_invitations(self, actor: Actor, meeting: Meeting) -> str | None:
        # The email matters only through email invitations: skip the user lookup on the hot path.
        # (An invitation added between this read and a retry is honoured on the next request.)
        return await self._email_of(actor.user_id) if meeting.invited_emails else None

    async def _email_of(self, user_id: UserId) -> str | None:
        try:
            return (await self.users.get(user_id)).invitation_email
        except UserNotFound:
            return None
