"""The composition of a service process (issue 14): remote adapters where the targets are set and the
process does not serve that service itself (runners/remote.py), and its registration, drained and
withdrawn on a stop (runners/discovery.py), on the in-memory registry."""

from __future__ import annotations

import asyncio
import datetime as dt

import attrs
import pytest

from adapters.grpc.balanced import BalancedRpcClient
from adapters.grpc.client import CallPolicy
from adapters.grpc.meeting_access import GrpcMeetingAccess
from adapters.grpc.meeting_state import GrpcCaptionedMeetings, GrpcRecordingStatus
from adapters.grpc.users import GrpcUsers
from adapters.grpc.wire import current_request_id
from adapters.inprocess.captioned_meetings import RepositoryCaptionedMeetings
from adapters.inprocess.meeting_access import InProcessMeetingAccess
from adapters.inprocess.recording_status import InProcessRecordingStatus
from adapters.memory.discovery import InMemoryDiscoveryStore
from adapters.system.clock import FrozenClock
from domain.discovery.errors import NoInstanceAvailable
from domain.discovery.model import ServiceInstance
from domain.meetings.errors import MeetingNotFound
from domain.shared.actor import Actor
from domain.shared.ids import new_id
from domain.users.errors import InvalidToken
from runners.containers import resolve
from runners.discovery import Announcement, announced, instance_of, service_name
from runners.remote import without_database
from runners.serve import _database_tags, composed
from runners.settings import ConfigError, Settings
from runners.web.logs import request_id_var
from tests.support.grpc_world import ENV, SECRET, in_process, served
from tests.support.process import free_port

SIGNALING = {"signaling", "media", "recordings", "meta"}
OTHER_KEY = "another-jwt-secret-nobody-else-signs-with-0123456789"


class SeenIds:
    """An Authenticator that remembers the request id each gRPC call carried."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.ids = inner, []

    async def authenticate(self, token: str):  # type: ignore[no-untyped-def]
        self.ids.append(current_request_id.get())
        return await self.inner.authenticate(token)


async def test_signaling_with_targets_checks_tokens_and_admits_through_the_other_services():
    async with in_process() as world:
        seen = SeenIds(world.authenticator)
        async with served(attrs.evolve(world, authenticator=seen)) as port:
            name = f"ann{new_id()[:8]}"
            host = await world.register(name, "Ann")
            meeting = await world.meeting(Actor(host))
            token = (await world.sign_in(name)).access_token
            target = f"127.0.0.1:{port}"
            # Its own (empty) memory and its own JWT key: only the remote services know Ann and her meeting.
            settings = Settings.from_env(ENV | {"APP_USERS_GRPC_TARGET": target, "APP_MEETINGS_GRPC_TARGET": target,
                                                "APP_JWT_SECRET": OTHER_KEY})
            async with composed(settings, SIGNALING) as (container, services):
                assert isinstance(services.authenticator, GrpcUsers)
                assert isinstance(services.rooms.meetings, GrpcMeetingAccess)
                with pytest.raises(InvalidToken):
                    await services.users.authenticate(token)  # the process's own users domain cannot tell
                reset = request_id_var.set("req-from-a-socket")
                try:
                    principal = await services.authenticator.authenticate(token)
                finally:
                    request_id_var.reset(reset)
                assert principal.user_id == host and seen.ids == ["req-from-a-socket"]
                admission = await services.rooms.meetings.admit(principal.actor, meeting, None)
                assert admission.role == "host"
                with pytest.raises(MeetingNotFound):
                    await services.rooms.meetings.admit(principal.actor, type(meeting)(new_id()), None)


@pytest.mark.parametrize("tags", [None, {"auth", "users", "admin", "meta"}, {"meetings", "captions", "meta"}])
async def test_a_process_never_calls_remotely_what_it_serves_itself(tags):
    target = "127.0.0.1:1"  # nothing listens: nothing may call it
    settings = Settings.from_env(ENV | {"APP_USERS_GRPC_TARGET": target, "APP_MEETINGS_GRPC_TARGET": target})
    async with composed(settings, tags) as (container, services):
        if tags is None or "auth" in tags:
            assert services.authenticator is services.users
        else:
            assert isinstance(services.authenticator, GrpcUsers)
        access = await resolve(container.meeting_access)
        assert isinstance(access, InProcessMeetingAccess) == (tags is None or "meetings" in tags)


async def test_without_targets_everything_stays_in_process():
    async with composed(Settings.from_env(ENV), SIGNALING) as (container, services):
        assert services.authenticator is services.users and services.remote_authenticator is None
        assert isinstance(await resolve(container.meeting_access), InProcessMeetingAccess)


def test_the_registered_instance_has_the_advertised_addresses():
    settings = Settings.from_env(ENV | {"APP_INSTANCE_ID": "sig-7", "APP_HOST": "0.0.0.0"})
    assert instance_of(settings, service_name("confero-signaling"), 8081, None) == ServiceInstance(
        "signaling", "sig-7", http="127.0.0.1:8081")
    settings = Settings.from_env(ENV | {"APP_INSTANCE_ID": "u-1", "APP_ADVERTISE_HOST": "users-1.internal"})
    assert instance_of(settings, "users", 8080, 50051) == ServiceInstance(
        "users", "u-1", http="users-1.internal:8080", grpc="users-1.internal:50051")
    assert Settings.from_env(ENV | {"APP_HOST": "10.0.0.5"}).advertised_host == "10.0.0.5"


async def test_a_stopping_process_shows_itself_draining_then_leaves_the_registry():
    store = InMemoryDiscoveryStore(FrozenClock(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)))
    registry, reader = store.client(), store.client()
    settings = Settings.from_env(ENV | {"APP_INSTANCE_ID": "sig-1", "APP_DRAIN_SECONDS": "0"})
    try:
        async with announced(registry, instance_of(settings, "signaling", 8081, None), settings) as announcement:
            assert announcement is not None
            assert [i.draining for i in await reader.instances("signaling")] == [False]
            await announcement.drain()
            assert [i.draining for i in await reader.instances("signaling")] == [True]
            await announcement.withdraw()
            assert await reader.instances("signaling") == []
        assert await reader.instances("signaling") == []
    finally:
        await store.aclose()


async def test_without_a_registry_nothing_is_announced():
    settings = Settings.from_env(ENV)
    async with announced(None, instance_of(settings, "signaling", 8081, None), settings) as announcement:
        assert announcement is None


def test_registration_settings_are_checked():
    from runners.settings import ConfigError

    with pytest.raises(ConfigError, match="APP_INSTANCE_ID"):
        Settings.from_env(ENV | {"APP_ETCD_URL": "http://127.0.0.1:2379", "APP_INSTANCE_ID": "has space"})
    with pytest.raises(ConfigError, match="APP_REGISTRY_TTL"):
        Settings.from_env(ENV | {"APP_REGISTRY_TTL": "0"})
    assert Settings.from_env(ENV).signaling_port == 8081


async def test_a_discovered_target_calls_the_instances_the_registry_lists_and_skips_draining_ones():
    store = InMemoryDiscoveryStore(FrozenClock(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)))
    own, reader = store.client(), store.client()
    try:
        async with in_process() as world, served(world) as port:
            name = f"ann{new_id()[:8]}"
            host = Actor(await world.register(name, "Ann"))
            meeting = await world.meeting(host)
            client = BalancedRpcClient(reader, "meetings", SECRET, CallPolicy(timeout=2, attempts=1))
            follower = asyncio.get_running_loop().create_task(client.follow())
            try:
                access = GrpcMeetingAccess(client)  # type: ignore[arg-type]
                with pytest.raises(NoInstanceAvailable):  # nobody registered yet
                    await access.admit(host, meeting, None)
                web_only = ServiceInstance("meetings", "m-0", http="127.0.0.1:1")
                serving = ServiceInstance("meetings", "m-1", http="127.0.0.1:1", grpc=f"127.0.0.1:{port}")
                await own.register(web_only, dt.timedelta(seconds=60))
                await own.register(serving, dt.timedelta(seconds=60))
                await client.view.wait_for(lambda snapshot: len(snapshot.instances) == 2)
                for _ in range(3):  # never the one without gRPC
                    assert (await access.admit(host, meeting, None)).role == "host"
                await own.update(attrs.evolve(serving, draining=True))
                await client.view.wait_for(lambda snapshot: snapshot.get("m-1").draining)
                with pytest.raises(NoInstanceAvailable):
                    await access.admit(host, meeting, None)
            finally:
                follower.cancel()
                client.close()
    finally:
        await store.aclose()


async def test_a_discovered_target_passes_over_a_listed_instance_that_refuses_connections():
    """A killed instance stays listed until its lease runs out: even an admission (never retried) goes to
    another instance, since nothing reached the dead one."""
    store = InMemoryDiscoveryStore(FrozenClock(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)))
    own, reader = store.client(), store.client()
    try:
        async with in_process() as world, served(world) as port:
            host = Actor(await world.register(f"ann{new_id()[:8]}", "Ann"))
            meeting = await world.meeting(host)
            client = BalancedRpcClient(reader, "meetings", SECRET, CallPolicy(timeout=2, attempts=1))
            follower = asyncio.get_running_loop().create_task(client.follow())
            try:
                access = GrpcMeetingAccess(client)  # type: ignore[arg-type]
                dead = ServiceInstance("meetings", "m-0", http="127.0.0.1:1", grpc=f"127.0.0.1:{free_port()}")
                live = ServiceInstance("meetings", "m-1", http="127.0.0.1:1", grpc=f"127.0.0.1:{port}")
                await own.register(dead, dt.timedelta(seconds=60))
                await own.register(live, dt.timedelta(seconds=60))
                await client.view.wait_for(lambda snapshot: len(snapshot.instances) == 2)
                for _ in range(4):  # the turns alternate: half of these were given to the dead one first
                    assert (await access.admit(host, meeting, None)).role == "host"
                await own.deregister("meetings", "m-1")
                await client.view.wait_for(lambda snapshot: len(snapshot.instances) == 1)
                with pytest.raises(NoInstanceAvailable, match="refused"):
                    await access.admit(host, meeting, None)
            finally:
                follower.cancel()
                client.close()
    finally:
        await store.aclose()


def test_a_discovered_target_needs_the_registry():
    from runners.settings import ConfigError

    with pytest.raises(ConfigError, match="APP_MEETINGS_GRPC_TARGET=etcd needs APP_ETCD_URL"):
        Settings.from_env(ENV | {"APP_MEETINGS_GRPC_TARGET": "etcd"})
    assert Settings.from_env(ENV | {"APP_MEETINGS_GRPC_TARGET": "etcd", "APP_ETCD_URL": "http://127.0.0.1:2379"})


class HungRegistry:
    """A registry whose store stopped answering."""

    async def update(self, instance):  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()

    async def deregister(self, service, instance_id):  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()


async def test_a_registry_that_does_not_answer_cannot_hold_the_stop():
    announcement = Announcement(HungRegistry(), ServiceInstance("signaling", "sig-1"), drain_seconds=0)  # type: ignore[arg-type]
    await announcement.leave(timeout=0.05)
    assert announcement.instance.draining


async def test_signaling_with_targets_reads_what_a_joining_member_is_told_from_the_other_services():
    target = "127.0.0.1:1"  # composing calls nothing
    settings = Settings.from_env(ENV | {"APP_USERS_GRPC_TARGET": target, "APP_MEETINGS_GRPC_TARGET": target})
    async with composed(settings, SIGNALING) as (container, services):
        assert isinstance(services.rooms.recordings, GrpcRecordingStatus)
        assert services.captions is not None
        assert isinstance(services.captions.captioned, GrpcCaptionedMeetings)
        assert isinstance(services.captions.users, GrpcUsers)
    async with composed(settings, {"meetings", "captions", "meta"}) as (container, services):
        assert isinstance(services.rooms.recordings, InProcessRecordingStatus)  # it keeps them itself
        assert services.captions is not None
        assert isinstance(services.captions.captioned, RepositoryCaptionedMeetings)


PRODUCTION = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": OTHER_KEY, "APP_REDIS_URL": "redis://127.0.0.1:1/0",
              "APP_SERVICE_SECRETS": SECRET}


def test_only_a_process_that_calls_both_services_may_run_without_a_database():
    both = {"APP_USERS_GRPC_TARGET": "users:50051", "APP_MEETINGS_GRPC_TARGET": "meetings:50052"}
    settings = Settings.from_env(PRODUCTION | both)
    assert without_database(settings)
    with pytest.raises(ConfigError, match="APP_POSTGRES_DSN is required"):
        Settings.from_env(PRODUCTION | {"APP_USERS_GRPC_TARGET": "users:50051"})
    assert not without_database(Settings.from_env(PRODUCTION | both | {"APP_POSTGRES_DSN": "postgresql://db/c"}))
    assert not without_database(Settings.from_env(ENV | both))  # embedded: memory, not "no database"


def test_a_process_without_a_database_serves_only_signaling_and_media():
    settings = Settings.from_env(PRODUCTION | {"APP_USERS_GRPC_TARGET": "users:50051",
                                               "APP_MEETINGS_GRPC_TARGET": "meetings:50052"})
    assert _database_tags(settings, set(SIGNALING)) == {"signaling", "media", "meta"}  # recordings need one
    for tags in (None, {"auth", "users", "admin", "meta"}, {"meetings", "captions", "meta"}):
        with pytest.raises(ConfigError, match="APP_POSTGRES_DSN is required by a process that serves"):
            _database_tags(settings, tags)
    with_database = Settings.from_env(ENV)
    assert _database_tags(with_database, set(SIGNALING)) == SIGNALING
