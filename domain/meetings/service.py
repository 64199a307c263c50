"""Meeting use cases: in one unit of work, load the aggregate, ask it, save and commit (retrying on a
concurrent change); the unit writes the aggregate's events to the outbox with the change."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from attrs import define

from domain.meetings import commands as c
from domain.meetings.errors import MeetingHidden, ParticipantsHidden
from domain.meetings.model import Meeting, MeetingRole, MeetingSettings, Participant
from domain.meetings.rules import check_meeting_password
from domain.shared.actor import Actor
from domain.shared.errors import ConcurrentModification
from domain.shared.ids import MeetingId, UserId, new_id
from domain.shared.pagination import Page, PageRequest
from domain.users.errors import UserNotFound
from domain.users.model import normalize_email
from ports.clock import Clock
from ports.locks import KeyedLocks
from ports.meeting_queries import MeetingQueries
from ports.meetings import MeetingRepository
from ports.uow import UnitOfWork, UnitOfWorkFactory
from ports.users import PasswordHasher, UserRepository

SAVE_ATTEMPTS = 8


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
    locks: KeyedLocks | None = None

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
            if (cmd.mute_on_join, cmd.allow_recording, cmd.invite_only) != (None, None, None):
                s = m.settings
                settings = MeetingSettings(
                    mute_on_join=s.mute_on_join if cmd.mute_on_join is None else cmd.mute_on_join,
                    allow_recording=s.allow_recording if cmd.allow_recording is None else cmd.allow_recording,
                    invite_only=s.invite_only if cmd.invite_only is None else cmd.invite_only)
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
        outside the lock and the transaction, and the meeting is loaded again after it."""
        verified: dict[str, bool] = {}
        for _ in range(SAVE_ATTEMPTS):
            async with self._hold(cmd.meeting_id), self.uow() as uow:
                meeting = await uow.meetings.get(cmd.meeting_id)
                email = await self._email_if_invitations(actor, meeting)
                needed = cmd.password is not None and meeting.password_needed_for(actor.user_id, email)
                unverified = meeting.password_hash if needed and meeting.password_hash not in verified else None
                if unverified is None:
                    password_ok = verified[meeting.password_hash] if needed and meeting.password_hash else None
                    if not meeting.join(actor.user_id, email=email, password_ok=password_ok, now=self.clock.now()):
                        return meeting
                    if await self._commit(uow, meeting):
                        return meeting
                    continue
            assert cmd.password is not None
            verified[unverified] = await self.hasher.verify(unverified, cmd.password)
        raise ConcurrentModification("the meeting is busy; try again")

    async def leave(self, actor: Actor, meeting_id: MeetingId) -> Meeting:
        return await self._change(meeting_id, lambda m: m.leave(actor.user_id, now=self.clock.now()))

    async def invite(self, actor: Actor, cmd: c.Invite) -> Meeting:
        """Rules: host or co-host; by user id (the user must exist) or by email (an unknown address is
        kept, so that whoever registers with it later is invited)."""
        user_id, email = cmd.user_id, None
        if cmd.email is not None:
            email = normalize_email(cmd.email)
            known = await self.users.find_by_email(email)
            if known is not None:
                user_id, email = known.id, None
        elif user_id is not None:
            await self.users.get(user_id)
        return await self._change(cmd.meeting_id, lambda m: m.invite(actor, now=self.clock.now(),
                                                                     user_id=user_id, email=email))

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
                  c.MeetingAction.END: Meeting.end, c.MeetingAction.CANCEL: Meeting.cancel}[action]
        return await self._change(meeting_id, lambda m: method(m, actor, now=self.clock.now()))

    async def _change(self, meeting_id: MeetingId, apply: Callable[[Meeting], None]) -> Meeting:
        for _ in range(SAVE_ATTEMPTS):
            async with self._hold(meeting_id), self.uow() as uow:
                meeting = await uow.meetings.get(meeting_id)
                apply(meeting)
                if await self._commit(uow, meeting):
                    return meeting
        raise ConcurrentModification("the meeting is busy; try again")

    def _hold(self, meeting_id: MeetingId) -> AbstractAsyncContextManager[None]:
        return self.locks.hold(meeting_id) if self.locks is not None else contextlib.nullcontext()

    @staticmethod
    async def _commit(uow: UnitOfWork, meeting: Meeting) -> bool:
        """False when another change won the race (the caller retries on a fresh load).  A change that
        raised no event (inviting someone invited already) writes nothing."""
        pending = meeting.pull_events()
        if not pending:
            return True
        try:
            await uow.meetings.save(meeting)
            uow.collect(*pending)
            await uow.commit()
        except ConcurrentModification:
            return False
        return True

    async def _email_if_invitations(self, actor: Actor, meeting: Meeting) -> str | None:
        # The email matters only through email invitations: skip the user lookup on the hot path.
        # (An invitation added between this read and a retry is honoured on the next request.)
        return await self._email_of(actor.user_id) if meeting.invited_emails else None

    async def _email_of(self, user_id: UserId) -> str | None:
        try:
            return (await self.users.get(user_id)).email
        except UserNotFound:
            return None
