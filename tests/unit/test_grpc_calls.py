"""Service-to-service gRPC over real grpclib on 127.0.0.1: every domain error comes back as the same
class with the same details, deadlines and bounded retries (idempotent calls only), the service
secret, request ids and W3C trace context in metadata, and bad input as status codes, never a crash."""

from __future__ import annotations

import asyncio
import socket

import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from adapters.grpc import wire
from adapters.grpc.client import CallPolicy, RpcClient, parse_target
from adapters.grpc.meeting_access import ADMIT, GrpcMeetingAccess
from adapters.grpc.users import GrpcUsers
from domain.meetings.errors import MeetingNotFound
from domain.rooms.model import Admission
from domain.shared.actor import Actor
from domain.shared.errors import (
    DomainError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from domain.shared.ids import MeetingId, UserId, new_id
from domain.users.errors import InvalidToken
from proto.confero.meetings import v1 as mpb
from proto.confero.users import v1 as upb
from runners.rpc.meetings import MeetingAccessServicer
from runners.rpc.server import bound_port, serving
from runners.settings import ConfigError, Settings
from tests.support.grpc_world import SECRET, in_process, served

ALICE = Actor(UserId(new_id()))
ROOM = MeetingId(new_id())
FAST = CallPolicy(timeout=5.0, attempts=3, backoff=0.001, max_backoff=0.01)


class ScriptedAccess:
    """A MeetingAccess that fails with the queued errors first, then answers; it records each call's
    request id and trace id as the server saw them."""

    def __init__(self) -> None:
        self.failures: list[BaseException] = []
        self.calls: list[str] = []
        self.seen: list[tuple[str | None, int]] = []
        self.gate: asyncio.Event | None = None

    async def _call(self, name: str) -> None:
        self.calls.append(name)
        self.seen.append((wire.current_request_id.get(), trace.get_current_span().get_span_context().trace_id))
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)

    async def admit(self, actor: Actor, meeting_id: MeetingId, password: str | None) -> Admission:
        await self._call("admit")
        return Admission(role="participant", display_name="Ann", mute_on_join=False, roles={"h": "host"})

    async def depart(self, actor: Actor, meeting_id: MeetingId) -> None:
        await self._call("depart")

    async def require_manager(self, actor: Actor, meeting_id: MeetingId) -> None:
        await self._call("require_manager")


@pytest.fixture
async def scripted():
    access = ScriptedAccess()
    async with serving([MeetingAccessServicer(access, (SECRET,))], "127.0.0.1", 0) as server:
        async with RpcClient("127.0.0.1", bound_port(server), SECRET, FAST) as client:
            yield access, GrpcMeetingAccess(client), bound_port(server)
        access.gate = None


# -- errors cross with their class -------------------------------------------------------------------

def every_domain_error() -> list[type[DomainError]]:
    return sorted((c for c in wire._error_classes().values()), key=wire._name)


def an_instance(cls: type[DomainError]) -> DomainError:
    try:
        return cls("it went wrong: ünïcode ✓", field="title", reason="too_long", limit=3, ids=["a", "b"])
    except TypeError:
        return cls("it went wrong: ünïcode ✓", retry_after=7)


@pytest.mark.parametrize("cls", every_domain_error(), ids=lambda c: wire._name(c))
async def test_every_domain_error_comes_back_as_itself(scripted, cls):
    access, remote, _ = scripted
    sent = an_instance(cls)
    access.failures.append(sent)
    with pytest.raises(DomainError) as caught:
        await remote.admit(ALICE, ROOM, None)  # never retried: the first error is the answer
    got = caught.value
    assert type(got) is cls and got == sent and got.details == sent.details and got.message == sent.message
    assert got.code == sent.code and got.kind is sent.kind


def test_a_status_without_our_error_class_is_the_generic_error_of_its_kind():
    assert type(wire.from_grpc(Status.NOT_FOUND, "x: gone", {})) is NotFound
    assert type(wire.from_grpc(Status.PERMISSION_DENIED, None, None)) is PermissionDenied
    forged = {wire.ERROR_TYPE: "os.system", wire.ERROR_DETAILS: "{not json"}
    assert type(wire.from_grpc(Status.INVALID_ARGUMENT, "bad", forged)) is InvalidArgument
    mismatched = {wire.ERROR_TYPE: wire._name(MeetingNotFound)}  # a class whose kind is not the status
    assert type(wire.from_grpc(Status.UNAUTHENTICATED, "no", mismatched)) is Unauthenticated
    for status in (Status.INTERNAL, Status.UNKNOWN, Status.UNIMPLEMENTED, Status.DATA_LOSS):
        assert type(wire.from_grpc(status, "boom", {})) is Unavailable


# -- deadlines and retries ---------------------------------------------------------------------------

async def test_idempotent_calls_are_retried_on_unavailable_until_they_succeed(scripted):
    access, remote, _ = scripted
    access.failures += [Unavailable("db down"), Unavailable("db down")]
    await remote.depart(ALICE, ROOM)
    assert access.calls == ["depart"] * 3


async def test_retries_are_bounded_and_end_in_the_last_error(scripted):
    access, remote, _ = scripted
    access.failures += [Unavailable("db down", n=i) for i in range(5)]
    with pytest.raises(Unavailable) as caught:
        await remote.require_manager(ALICE, ROOM)
    assert access.calls == ["require_manager"] * 3 and caught.value.details == {"n": 2}


async def test_admit_is_never_retried(scripted):
    access, remote, _ = scripted
    access.failures.append(Unavailable("db down"))
    with pytest.raises(Unavailable):
        await remote.admit(ALICE, ROOM, "pw")
    assert access.calls == ["admit"]


async def test_other_errors_are_not_retried(scripted):
    access, remote, _ = scripted
    access.failures.append(MeetingNotFound("no such meeting"))
    with pytest.raises(MeetingNotFound):
        await remote.depart(ALICE, ROOM)
    assert access.calls == ["depart"]


async def test_a_call_past_its_deadline_is_unavailable_and_retried_when_idempotent(scripted):
    access, _, port = scripted
    access.gate = asyncio.Event()  # never set: the server hangs
    # A second, not less: the server checks the deadline before it runs the handler, and on a loaded
    # machine (CI runs these while the servers start) 0.2 s had passed by then, so no call was seen.
    async with RpcClient("127.0.0.1", port, SECRET, CallPolicy(timeout=1.0, attempts=2, backoff=0)) as client:
        with pytest.raises(Unavailable) as caught:
            await GrpcMeetingAccess(client).depart(ALICE, ROOM)
        assert caught.value.details["reason"] == "deadline_exceeded" or caught.value.details.get("status")
        assert access.calls == ["depart", "depart"]
        access.calls.clear()
        with pytest.raises(Unavailable):
            await GrpcMeetingAccess(client).admit(ALICE, ROOM, None)
        assert access.calls == ["admit"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_service_that_is_down_is_unavailable_after_bounded_retries():
    async with RpcClient("127.0.0.1", free_port(), SECRET, FAST) as client:
        with pytest.raises(Unavailable) as caught:
            await GrpcUsers(client).authenticate("token")
        assert caught.value.details["reason"] == "connection_refused"  # nothing listens there


def test_policies_and_targets_are_checked():
    with pytest.raises(ValueError):
        CallPolicy(timeout=0)
    with pytest.raises(ValueError):
        CallPolicy(attempts=0)
    assert parse_target("users.internal:50051") == ("users.internal", 50051)
    assert parse_target("[::1]:50052") == ("::1", 50052)
    for bad in ("users", "users:", ":1", "h:99999", "h:x"):
        with pytest.raises(ValueError):
            parse_target(bad)
    with pytest.raises(ValueError):
        RpcClient("127.0.0.1", 1, "")


# -- metadata: request id and trace context ----------------------------------------------------------

async def test_the_request_id_and_the_trace_context_reach_the_server(scripted):
    access, _, port = scripted
    async with RpcClient("127.0.0.1", port, SECRET, FAST, request_id=lambda: "req-42.a") as client:
        parent = SpanContext(trace_id=0x0AF7651916CD43DD8448EB211C80319C, span_id=0xB7AD6B7169203331,
                             is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        with trace.use_span(NonRecordingSpan(parent)):
            await GrpcMeetingAccess(client).depart(ALICE, ROOM)
    assert access.seen == [("req-42.a", 0x0AF7651916CD43DD8448EB211C80319C)]


async def test_without_a_request_id_the_served_calls_id_is_carried_on_or_a_fresh_one_made(scripted):
    access, remote, _ = scripted
    token = wire.current_request_id.set("upstream-1")
    try:
        await remote.depart(ALICE, ROOM)
    finally:
        wire.current_request_id.reset(token)
    await remote.depart(ALICE, ROOM)
    (first, _), (second, _) = access.seen
    assert first == "upstream-1" and second and second != "upstream-1"


async def test_a_malformed_request_id_is_replaced(scripted):
    access, _, port = scripted
    async with RpcClient("127.0.0.1", port, SECRET, FAST, request_id=lambda: "bad id\n" + "x" * 300) as client:
        await GrpcMeetingAccess(client).depart(ALICE, ROOM)
    assert access.seen[0][0] and " " not in access.seen[0][0] and len(access.seen[0][0]) <= 128


# -- authentication and bad input over the wire ------------------------------------------------------

@pytest.fixture
async def world_port():
    async with in_process() as world, served(world) as port:
        yield world, port


async def status_of(call) -> Status:  # type: ignore[no-untyped-def]
    with pytest.raises(GRPCError) as caught:
        await call
    return caught.value.status


async def test_calls_without_the_service_secret_are_unauthenticated(world_port):
    _, port = world_port
    channel = Channel("127.0.0.1", port)
    try:
        request = upb.AuthenticateRequest(access_token="x")
        assert await status_of(upb.UsersServiceStub(channel).authenticate(request)) == Status.UNAUTHENTICATED
        wrong = upb.UsersServiceStub(channel, metadata={wire.SERVICE_TOKEN: SECRET + "x"})
        assert await status_of(wrong.authenticate(request)) == Status.UNAUTHENTICATED
        other = mpb.MeetingAccessStub(channel, metadata={"authorization": "Bearer x"})  # users' tokens are no pass
        assert await status_of(other.depart(mpb.DepartRequest(actor=mpb.Actor(user_id=ALICE.user_id),
                                                              meeting_id=ROOM))) == Status.UNAUTHENTICATED
    finally:
        channel.close()
    async with RpcClient("127.0.0.1", port, "a-wrong-secret-that-is-long-enough-0123456789", FAST) as client:
        with pytest.raises(Unauthenticated):
            await GrpcUsers(client).authenticate("x")


async def test_bad_requests_are_invalid_argument_and_unknown_ids_not_found(world_port):
    world, port = world_port
    channel = Channel("127.0.0.1", port)
    meta = {wire.SERVICE_TOKEN: SECRET}
    m, u = mpb.MeetingAccessStub(channel, metadata=meta), upb.UsersServiceStub(channel, metadata=meta)
    actor = mpb.Actor(user_id=ALICE.user_id)
    try:
        assert await status_of(m.admit(mpb.AdmitRequest(meeting_id=ROOM))) == Status.INVALID_ARGUMENT
        assert await status_of(m.admit(mpb.AdmitRequest(actor=actor, meeting_id="nope"))) == Status.INVALID_ARGUMENT
        assert await status_of(m.admit(mpb.AdmitRequest(actor=mpb.Actor(user_id="../x"), meeting_id=ROOM))
                               ) == Status.INVALID_ARGUMENT
        assert await status_of(m.admit(mpb.AdmitRequest(actor=actor, meeting_id=ROOM, password="p" * 5000))
                               ) == Status.INVALID_ARGUMENT
        assert await status_of(m.admit(mpb.AdmitRequest(actor=actor, meeting_id=ROOM))) == Status.NOT_FOUND
        assert await status_of(m.require_manager(mpb.RequireManagerRequest(actor=actor, meeting_id=ROOM))
                               ) == Status.NOT_FOUND
        assert await status_of(m.depart(mpb.DepartRequest(actor=actor, meeting_id=""))) == Status.INVALID_ARGUMENT
        assert await status_of(u.get_user(upb.GetUserRequest(user_id=""))) == Status.INVALID_ARGUMENT
        assert await status_of(u.get_user(upb.GetUserRequest(user_id=new_id()))) == Status.NOT_FOUND
        assert await status_of(u.authenticate(upb.AuthenticateRequest(access_token="nope"))) == Status.UNAUTHENTICATED
        assert await status_of(u.authenticate(upb.AuthenticateRequest(access_token="t" * 9000))
                               ) == Status.INVALID_ARGUMENT
        # the servers still answer after all that
        name = f"z{new_id()[:8]}"
        user_id = await world.register(name, "Zed")
        assert (await u.get_user(upb.GetUserRequest(user_id=user_id))).username == name
    finally:
        channel.close()


class Garbage:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:  # noqa: N802  (the codec's protocol)
        return self.data


@pytest.mark.parametrize("data", [b"\xff\xff\xff\xff\x0f\x01", b"\x0a\x05ab", b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                                  b"\x08\x01", b"\x0a", b"\x0a\x02\xff\xfe\x0a\x01\xff"])
async def test_malformed_messages_are_invalid_argument(world_port, data):
    _, port = world_port
    channel = Channel("127.0.0.1", port)
    try:
        for path, reply in ((ADMIT, mpb.Admission), ("/confero.users.v1.UsersService/Authenticate", upb.Principal)):
            async with channel.request(path, Cardinality.UNARY_UNARY, Garbage, reply,
                                       metadata={wire.SERVICE_TOKEN: SECRET}) as stream:
                await stream.send_message(Garbage(data), end=True)
                with pytest.raises(GRPCError) as caught:
                    await stream.recv_message()
            assert caught.value.status == Status.INVALID_ARGUMENT
    finally:
        channel.close()


async def test_a_token_check_over_grpc_gives_the_same_error_as_in_process(world_port):
    world, port = world_port
    async with RpcClient("127.0.0.1", port, SECRET, FAST) as client:
        with pytest.raises(InvalidToken) as remote:
            await GrpcUsers(client).authenticate("not-a-token")
    with pytest.raises(InvalidToken) as local:
        await world.authenticator.authenticate("not-a-token")
    assert remote.value == local.value and remote.value.message == local.value.message


# -- settings ----------------------------------------------------------------------------------------

PRODUCTION = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": "j" * 40, "APP_POSTGRES_DSN": "postgresql://x/y",
              "APP_REDIS_URL": "redis://x"}


def test_production_refuses_to_call_services_without_a_service_secret():
    with pytest.raises(ConfigError, match="APP_SERVICE_SECRETS is required"):
        Settings.from_env(PRODUCTION | {"APP_MEETINGS_GRPC_TARGET": "meetings:50052"})
    with pytest.raises(ConfigError, match="at least 32 bytes") as caught:
        Settings.from_env(PRODUCTION | {"APP_SERVICE_SECRETS": "short"})
    assert "short" not in str(caught.value)
    ok = Settings.from_env(PRODUCTION | {"APP_MEETINGS_GRPC_TARGET": "meetings:50052",
                                         "APP_SERVICE_SECRETS": f"{'n' * 32},{'o' * 32}"})
    assert ok.service_secrets == ("n" * 32, "o" * 32) and "n" * 32 not in repr(ok)
    assert Settings.from_env(PRODUCTION).service_secrets == ()  # the all-in-one calls nobody


def test_the_servers_refuse_to_start_without_a_secret():
    from runners.rpc.server import service_secrets

    with pytest.raises(ConfigError):
        service_secrets(Settings.from_env(PRODUCTION))
    assert len(service_secrets(Settings.from_env({}))[0]) >= 32  # embedded: one made for the process


async def test_the_previous_secret_is_still_accepted_while_rotating():
    world_secrets = (SECRET, "the-previous-secret-still-accepted-0123456789")
    async with in_process() as world, served(world, world_secrets) as port:
        async with RpcClient("127.0.0.1", port, world_secrets[1], FAST) as client:
            with pytest.raises(InvalidToken):
                await GrpcUsers(client).authenticate("x")


async def test_processes_compose_the_remote_adapters_from_their_settings():
    from runners.rpc.clients import meetings_servicer, remote_meeting_access, remote_users, users_servicer

    async with in_process() as world:
        settings = Settings.from_env({"APP_SERVICE_SECRETS": SECRET, "APP_GRPC_TIMEOUT": "3", "APP_GRPC_ATTEMPTS": "2"})
        servicers = [meetings_servicer(world.access, settings),
                     users_servicer(world.authenticator, world.directory, settings)]
        async with serving(servicers, "127.0.0.1", 0) as server:
            target = f"127.0.0.1:{bound_port(server)}"
            remote = Settings.from_env({"APP_SERVICE_SECRETS": SECRET, "APP_MEETINGS_GRPC_TARGET": target,
                                        "APP_USERS_GRPC_TARGET": target})
            host = await world.user("Hanna")
            meeting = await world.meeting(host)
            async with remote_meeting_access(remote) as access, remote_users(remote) as users:
                assert (await access.admit(host, meeting, None)).role == "host"
                assert (await users.summary(host.user_id)).display_name == "Hanna"
    with pytest.raises(ConfigError):
        async with remote_users(Settings.from_env({})):
            pass


async def test_a_client_connects_once_its_server_is_up():
    access = ScriptedAccess()
    port = free_port()
    async with RpcClient("127.0.0.1", port, SECRET, FAST) as client:
        with pytest.raises(Unavailable):
            await GrpcMeetingAccess(client).depart(ALICE, ROOM)
        async with serving([MeetingAccessServicer(access, (SECRET,))], "127.0.0.1", port):
            await GrpcMeetingAccess(client).depart(ALICE, ROOM)
    assert access.calls == ["depart"]


def test_log_lines_made_while_serving_a_call_carry_its_request_id():
    import logging

    from runners.web.logs import RequestIdFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    token = wire.current_request_id.set("grpc-call-7")
    try:
        RequestIdFilter().filter(record)
    finally:
        wire.current_request_id.reset(token)
    assert record.request_id == "grpc-call-7"
