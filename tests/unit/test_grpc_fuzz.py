"""Whatever bytes arrive as a request, our servers answer with a status and go on serving: the codec
either decodes a message that re-encodes, or says INVALID_ARGUMENT; the handlers then answer with a
status of their own, never UNKNOWN (an unhandled exception)."""

from __future__ import annotations

import random

import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.grpc.wire import SERVICE_TOKEN, CheckedProtoCodec
from proto.confero.analysis import v1 as apb
from proto.confero.media import v1 as mdpb
from proto.confero.meetings import v1 as mpb
from proto.confero.users import v1 as upb
from runners.rpc.meetings import MeetingAccessServicer
from runners.rpc.users import UsersServicer
from tests.support.grpc_world import SECRET, in_process, served

REQUESTS = [mpb.AdmitRequest, mpb.DepartRequest, mpb.RequireManagerRequest, upb.AuthenticateRequest,
            upb.GetUserRequest, apb.SubmitRequest, apb.AudioChunk, apb.ListMeetingAnalysesRequest,
            mdpb.SignalRequest, mdpb.StatsRequest, mdpb.StartRecordingRequest, mdpb.CaptionRequest]


def mutations(message: bytes) -> st.SearchStrategy[bytes]:
    """Valid messages with a byte flipped, cut short or extended: nearer to what breaks parsers than noise."""
    return st.one_of(
        st.binary(max_size=64),
        st.builds(lambda i, b: message[:i] + bytes([b]) + message[i + 1:], st.integers(0, max(len(message) - 1, 0)),
                  st.integers(0, 255)),
        st.builds(lambda i: message[:i], st.integers(0, len(message))),
        st.builds(lambda tail: message + tail, st.binary(max_size=16)),
    )


SAMPLE = bytes(mpb.AdmitRequest(actor=mpb.Actor(user_id="00000000-0000-4000-8000-000000000000", is_admin=True),
                                meeting_id="00000000-0000-4000-8000-000000000001", password="pw12"))


@settings(max_examples=300, deadline=None)
@given(data=mutations(SAMPLE), message_type=st.sampled_from(REQUESTS))
def test_the_codec_decodes_or_says_invalid_argument(data, message_type):
    try:
        decoded = CheckedProtoCodec().decode(data, message_type)
    except GRPCError as err:
        assert err.status == Status.INVALID_ARGUMENT
        return
    assert type(message_type().parse(bytes(decoded))) is message_type  # what was accepted re-encodes


class Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:  # noqa: N802  (the codec's protocol)
        return self.data


PATHS = [("/confero.meetings.v1.MeetingAccess/Admit", mpb.Admission),
         ("/confero.meetings.v1.MeetingAccess/Depart", mpb.DepartReply),
         ("/confero.meetings.v1.MeetingAccess/RequireManager", mpb.RequireManagerReply),
         ("/confero.users.v1.UsersService/Authenticate", upb.Principal),
         ("/confero.users.v1.UsersService/GetUser", upb.UserSummary)]


async def test_random_requests_over_the_wire_get_statuses_never_unknown():
    rng = random.Random(14)
    samples = [SAMPLE, bytes(upb.AuthenticateRequest(access_token="a.b.c")),
               bytes(upb.GetUserRequest(user_id="00000000-0000-4000-8000-000000000000"))]
    seen: set[Status] = set()
    async with in_process() as world, served(world) as port:
        channel = Channel("127.0.0.1", port)
        try:
            for i in range(150):
                base = rng.choice(samples)
                data = bytearray(base)
                for _ in range(rng.randint(0, 3)):
                    if data:
                        data[rng.randrange(len(data))] = rng.randrange(256)
                data = bytes(data[:rng.randint(0, len(data))]) if i % 3 == 0 else bytes(data)
                path, reply = PATHS[i % len(PATHS)]
                async with channel.request(path, Cardinality.UNARY_UNARY, Raw, reply,
                                           metadata={SERVICE_TOKEN: SECRET}, timeout=10) as stream:
                    await stream.send_message(Raw(data), end=True)
                    try:
                        await stream.recv_message()
                        seen.add(Status.OK)
                    except GRPCError as err:
                        seen.add(err.status)
                        assert err.status not in (Status.UNKNOWN, Status.INTERNAL), (path, data, err)
            host = await world.user("Hanna")
            meeting = await world.meeting(host)
            ok = mpb.MeetingAccessStub(channel, metadata={SERVICE_TOKEN: SECRET})
            assert (await ok.admit(mpb.AdmitRequest(actor=mpb.Actor(user_id=host.user_id), meeting_id=meeting))
                    ).role == "host"
        finally:
            channel.close()
    assert Status.INVALID_ARGUMENT in seen


@pytest.mark.parametrize("servicer", [MeetingAccessServicer, UsersServicer])
def test_servicers_guard_every_method(servicer):
    mapping = (servicer(None, (SECRET,)) if servicer is MeetingAccessServicer  # type: ignore[arg-type]
               else servicer(None, None, (SECRET,))).__mapping__()  # type: ignore[arg-type]
    assert mapping and all(h.func.__qualname__.endswith("_guarded.<locals>.handler") for h in mapping.values())
