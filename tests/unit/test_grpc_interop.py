"""Interop: Google's grpcio (grpc.aio) calls our grpclib servers with the raw betterproto messages, as a
service written in another language would: answers, the error trailers, and status codes."""

from __future__ import annotations

import grpc
import pytest

from adapters.grpc import wire
from adapters.grpc.meeting_access import ADMIT, DEPART
from adapters.grpc.users import AUTHENTICATE, GET_USER
from domain.shared.ids import new_id
from proto.confero.meetings import v1 as mpb
from proto.confero.users import v1 as upb
from tests.support.grpc_world import SECRET, in_process, served


@pytest.fixture
async def grpcio_channel():
    async with in_process() as world, served(world) as port:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield world, channel


def unary(channel: grpc.aio.Channel, path: str, reply_type: type):
    return channel.unary_unary(path, request_serializer=bytes, response_deserializer=lambda b: reply_type().parse(b))


AUTH = (("x-service-token", SECRET), ("x-request-id", "grpcio-1"))


async def test_grpcio_admits_a_member_through_our_server(grpcio_channel):
    world, channel = grpcio_channel
    host = await world.user("Hanna")
    meeting = await world.meeting(host, password="pw12", mute_on_join=True)
    request = mpb.AdmitRequest(actor=mpb.Actor(user_id=host.user_id), meeting_id=meeting, password="pw12")
    got = await unary(channel, ADMIT, mpb.Admission)(request, metadata=AUTH, timeout=10)
    assert (got.role, got.display_name, got.mute_on_join, dict(got.roles)) == ("host", "Hanna", True,
                                                                              {host.user_id: "host"})
    await unary(channel, DEPART, mpb.DepartReply)(mpb.DepartRequest(actor=mpb.Actor(user_id=host.user_id),
                                                                     meeting_id=meeting), metadata=AUTH, timeout=10)
    assert await world.participants(meeting) == set()


async def test_grpcio_checks_a_token_and_looks_a_user_up(grpcio_channel):
    world, channel = grpcio_channel
    name = f"g{new_id()[:8]}"
    user_id = await world.register(name, "Grace")
    tokens = await world.sign_in(name)
    principal = await unary(channel, AUTHENTICATE, upb.Principal)(
        upb.AuthenticateRequest(access_token=tokens.access_token), metadata=AUTH, timeout=10)
    assert principal.user_id == user_id and principal.role == upb.Role.USER and principal.session_id
    found = await unary(channel, GET_USER, upb.UserSummary)(upb.GetUserRequest(user_id=user_id), metadata=AUTH,
                                                            timeout=10)
    assert (found.username, found.display_name) == (name, "Grace")


async def test_grpcio_sees_our_status_codes_and_error_trailers(grpcio_channel):
    world, channel = grpcio_channel
    outsider = await world.user("Otto")
    call = unary(channel, ADMIT, mpb.Admission)(
        mpb.AdmitRequest(actor=mpb.Actor(user_id=outsider.user_id), meeting_id=new_id()), metadata=AUTH, timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    err = caught.value
    trailers = dict(err.trailing_metadata() or ())
    assert err.code() == grpc.StatusCode.NOT_FOUND and err.details().startswith("meeting_not_found: ")
    assert trailers[wire.ERROR_TYPE] == "domain.meetings.errors.MeetingNotFound"


async def test_grpcio_without_the_secret_or_with_garbage_gets_status_codes(grpcio_channel):
    world, channel = grpcio_channel
    request = upb.AuthenticateRequest(access_token="x")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await unary(channel, AUTHENTICATE, upb.Principal)(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    garbage = channel.unary_unary(ADMIT, request_serializer=lambda b: b, response_deserializer=bytes)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await garbage(b"\x0a\x05ab", metadata=AUTH, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    unknown = channel.unary_unary("/confero.meetings.v1.MeetingAccess/Explode", request_serializer=lambda b: b,
                                  response_deserializer=bytes)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await unknown(b"", metadata=AUTH, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    host = await world.user("Hanna")  # the server still serves
    meeting = await world.meeting(host)
    assert (await unary(channel, ADMIT, mpb.Admission)(
        mpb.AdmitRequest(actor=mpb.Actor(user_id=host.user_id, is_admin=False), meeting_id=meeting),
        metadata=AUTH, timeout=10)).role == "host"
