"""A memory composition of the users and meetings domains with their gRPC servers on 127.0.0.1 (real
grpclib, an ephemeral port), and the harnesses of the MeetingAccess / Authenticator / UserDirectory
contract suites (confero_contracts) over it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from attrs import define

from adapters.grpc.client import CallPolicy, RpcClient
from adapters.grpc.meeting_access import GrpcMeetingAccess
from adapters.grpc.meeting_state import GrpcCaptionedMeetings, GrpcRecordingStatus
from adapters.grpc.users import GrpcUsers
from adapters.inprocess.user_directory import RepositoryUserDirectory
from domain.meetings.commands import HostAction, JoinMeeting, MeetingAction, ScheduleMeeting
from domain.meetings.model import MeetingSettings
from domain.recordings.model import Recording
from domain.rooms.recording import ActiveRecording
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, RecordingId, UserId, new_id
from domain.users.commands import LogIn, RegisterUser
from domain.users.model import Role
from domain.users.tokens import TokenPair
from ports.captions import CaptionedMeetings
from ports.recordings import RecordingRepository
from ports.rooms import MeetingAccess, RecordingStatus
from ports.users import Authenticator, UserDirectory
from runners.containers import resolve
from runners.rpc.meetings import MeetingAccessServicer, MeetingStateServicer
from runners.rpc.server import bound_port, serving
from runners.rpc.users import UsersServicer
from runners.serve import composed
from runners.settings import Settings

SECRET = "the-shared-service-secret-of-the-tests-0123456789"
PASSWORD = "correct horse battery staple"
ENV = {"APP_FAST_PASSWORD_HASHING": "true", "APP_JWT_SECRET": "grpc-test-secret-that-is-long-enough-0123456789",
       "APP_LOG_FORMAT": "text", "APP_SERVICE_SECRETS": SECRET}
_addresses = itertools.count(1)


@define
class World:
    """The domains in process (``services``), what the servers serve (``access``, ``authenticator``,
    ``directory``), and the harness methods that arrange state through the domain."""

    services: Any
    access: MeetingAccess
    authenticator: Authenticator
    directory: UserDirectory
    recording_status: RecordingStatus
    captioned: CaptionedMeetings
    recordings: RecordingRepository

    async def register(self, username: str, display_name: str, *, admin: bool = False) -> UserId:
        n = next(_addresses)
        user = await self.services.users.register(
            RegisterUser(username=username, email=f"{username}@example.com", password=PASSWORD,
                         display_name=display_name, client_address=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"),
            role=Role.ADMIN if admin else Role.USER, email_verified=True)
        return user.id

    async def sign_in(self, username: str) -> TokenPair:
        tokens, _ = await self.services.users.login(LogIn(login=username, password=PASSWORD))
        return tokens

    async def sign_out(self, tokens: TokenPair) -> None:
        await self.services.users.logout(await self.services.users.authenticate(tokens.access_token))

    async def ban(self, user_id: UserId) -> None:
        name = f"admin{new_id()[:8]}"
        await self.register(name, "Ada", admin=True)
        admin = await self.services.users.authenticate((await self.sign_in(name)).access_token)
        await self.services.users.ban(admin, user_id)

    async def user(self, display_name: str) -> Actor:
        return Actor(await self.register(f"u{new_id()[:10]}", display_name))

    async def admin(self) -> Actor:
        return Actor(await self.register(f"a{new_id()[:10]}", "Ada", admin=True), is_admin=True)

    async def meeting(self, host: Actor, *, password: str | None = None, capacity: int = 100,
                      mute_on_join: bool = False) -> MeetingId:
        m = await self.services.meetings.schedule(host, ScheduleMeeting(
            title="Contract meeting", capacity=capacity, password=password,
            settings=MeetingSettings(mute_on_join=mute_on_join)))
        return m.id

    async def kick(self, host: Actor, meeting_id: MeetingId, user: Actor) -> None:
        await self.services.meetings.host_action(host, meeting_id, HostAction.KICK, user.user_id)

    async def promote(self, host: Actor, meeting_id: MeetingId, user: Actor) -> None:
        await self.services.meetings.host_action(host, meeting_id, HostAction.PROMOTE, user.user_id)

    async def end(self, host: Actor, meeting_id: MeetingId) -> None:
        await self.services.meetings.meeting_action(host, meeting_id, MeetingAction.END)

    async def start(self, host: Actor, meeting_id: MeetingId) -> dt.datetime:
        await self.services.meetings.join(host, JoinMeeting(meeting_id=meeting_id))
        meeting = await self.services.meetings.get(host, meeting_id)
        assert meeting.started_at is not None
        return meeting.started_at  # type: ignore[no-any-return]

    async def captions(self, host: Actor, meeting_id: MeetingId, on: bool) -> None:
        await self.services.meetings.meeting_action(
            host, meeting_id, MeetingAction.CAPTIONS_ON if on else MeetingAction.CAPTIONS_OFF)

    async def recording(self, meeting_id: MeetingId, by: Actor, *, running: bool) -> ActiveRecording:
        now = dt.datetime.now(dt.UTC)
        made = Recording.begin(recording_id=RecordingId(new_id()), meeting_id=meeting_id, started_by=by.user_id,
                               now=now)
        if running:
            made.recorder_started(now=now)
        await self.recordings.add(made)
        return ActiveRecording(recording_id=made.id, started_by=made.started_by, started_at=made.started_at)

    async def stop_recording(self, recording_id: RecordingId) -> None:
        found = await self.recordings.get(recording_id)
        found.stop(by=None, now=dt.datetime.now(dt.UTC))
        await self.recordings.save(found)

    async def participants(self, meeting_id: MeetingId) -> set[UserId]:
        meeting = await self.services.meetings.get(Actor(UserId(new_id()), is_admin=True), meeting_id)
        return set(meeting.participants)


@asynccontextmanager
async def in_process(**env: str) -> AsyncIterator[World]:
    settings = Settings.from_env(ENV | env)
    async with composed(settings) as (container, services):
        users = await resolve(container.adapters.users)
        yield World(services, await resolve(container.meeting_access), services.users,
                    RepositoryUserDirectory(users), await resolve(container.recording_status),
                    await resolve(container.captioned_meetings), await resolve(container.adapters.recordings))


@asynccontextmanager
async def served(world: World, secrets: tuple[str, ...] = (SECRET,)) -> AsyncIterator[int]:
    """The world's MeetingAccess and users servers on 127.0.0.1; yields the port."""
    servicers = [MeetingAccessServicer(world.access, secrets),
                 MeetingStateServicer(world.recording_status, world.captioned, secrets),
                 UsersServicer(world.authenticator, world.directory, secrets)]
    async with serving(servicers, "127.0.0.1", 0) as server:
        yield bound_port(server)


@asynccontextmanager
async def over_grpc(world: World, policy: CallPolicy | None = None) -> AsyncIterator[World]:
    """The same world, with ``access``/``authenticator``/``directory`` replaced by the gRPC adapters."""
    async with served(world) as port, RpcClient("127.0.0.1", port, SECRET, policy) as client:
        users = GrpcUsers(client)
        yield World(world.services, GrpcMeetingAccess(client), users, users, GrpcRecordingStatus(client),
                    GrpcCaptionedMeetings(client), world.recordings)
