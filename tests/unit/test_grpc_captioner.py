"""A media node's caption tap over gRPC (proto/media.proto ``MediaCaptioner``) with a stand-in tap behind
real grpclib on 127.0.0.1: what the node hears reaches the caller's CaptionSink unchanged, once however
many signaling processes follow the room (the next takes over when one goes), the tap stops with the last
follower, a node that cannot be reached makes captions unavailable until it is back, and bad input gets
status codes."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from typing import Any

import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError

from adapters.grpc.captioner import CAPTION, CAPTIONING, NODE_UNREACHABLE, GrpcRoomCaptioner
from adapters.grpc.client import CallPolicy
from adapters.grpc.wire import SERVICE_TOKEN, CheckedProtoCodec
from adapters.inprocess.caption_relay import CaptionRelay
from domain.captions.model import Caption
from domain.shared.ids import MeetingId, UserId, new_id
from proto.confero.media import v1 as pb
from runners.rpc.media import MediaCaptionerServicer
from runners.rpc.server import bound_port, serving

SECRET = "the-shared-service-secret-of-the-caption-tests-0123456789"
FAST = CallPolicy(timeout=5.0, attempts=3, backoff=0.01, max_backoff=0.05)
ROOM = MeetingId(new_id())
T0 = dt.datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)


def caption(text: str, room: MeetingId = ROOM) -> Caption:
    return Caption(id=new_id(), meeting_id=room, speaker_id=UserId(new_id()), text=text, final=True,
                   start_at=T0, end_at=T0 + dt.timedelta(seconds=2))


class FakeTap:
    """The node's RoomCaptioner: records which rooms it taps; the test makes it hear through ``sink``."""

    def __init__(self, sink: CaptionRelay) -> None:
        self.sink = sink
        self.rooms: set[MeetingId] = set()
        self.calls: list[tuple[str, MeetingId]] = []

    async def start(self, room_id: MeetingId) -> None:
        self.calls.append(("start", room_id))
        self.rooms.add(room_id)

    async def stop(self, room_id: MeetingId) -> None:
        self.calls.append(("stop", room_id))
        self.rooms.discard(room_id)

    async def captioning(self) -> list[MeetingId]:
        return sorted(self.rooms)


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    async def heard(self, caption: Caption) -> None:
        self.events.append(("heard", caption))

    async def unavailable(self, room_id: MeetingId, reason: str) -> None:
        self.events.append(("unavailable", reason))

    async def resumed(self, room_id: MeetingId) -> None:
        self.events.append(("resumed", room_id))


async def until(check: Any, what: str) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} did not happen")


@pytest.fixture
async def node():
    relay = CaptionRelay()
    tap = FakeTap(relay)
    async with serving([MediaCaptionerServicer(tap, relay, (SECRET,))], "127.0.0.1", 0) as server:
        port = bound_port(server)
        made: list[tuple[GrpcRoomCaptioner, Channel]] = []

        def client(sink: Sink, **kw: Any) -> GrpcRoomCaptioner:
            channel = Channel("127.0.0.1", port, codec=CheckedProtoCodec())
            made.append((GrpcRoomCaptioner(channel, sink, token=SECRET, policy=FAST, **kw), channel))
            return made[-1][0]

        yield relay, tap, client, port
        for captioner, channel in made:
            await captioner.close()
            channel.close()


async def test_what_the_node_hears_reaches_the_callers_sink_unchanged(node):
    relay, tap, client, _ = node
    sink = Sink()
    captioner = client(sink)
    await captioner.start(ROOM)
    assert tap.rooms == {ROOM} and await captioner.captioning() == [ROOM]
    heard = caption("hello there, Zoë 🎥")
    await relay.heard(heard)
    await relay.unavailable(ROOM, "speech_to_text_unavailable")
    await relay.resumed(ROOM)
    await until(lambda: len(sink.events) == 3, "three events")
    assert sink.events == [("heard", heard), ("unavailable", "speech_to_text_unavailable"), ("resumed", ROOM)]
    await captioner.start(ROOM)  # idempotent
    assert tap.calls == [("start", ROOM)]


async def test_a_room_followed_twice_gets_each_caption_once_and_the_tap_stops_with_the_last(node):
    relay, tap, client, _ = node
    first, second = Sink(), Sink()
    one, two = client(first), client(second)
    await one.start(ROOM)
    await two.start(ROOM)
    await relay.heard(caption("one"))
    await until(lambda: first.events, "the first follower's caption")
    await one.stop(ROOM)
    await until(lambda: len(relay._listeners.get(ROOM, [])) == 1, "the first follower gone")
    assert tap.rooms == {ROOM}
    await relay.heard(caption("two"))
    await until(lambda: second.events, "the second follower's caption")
    assert [e[1].text for e in first.events] == ["one"] and [e[1].text for e in second.events] == ["two"]
    await two.stop(ROOM)
    await until(lambda: tap.rooms == set(), "the tap stopped")


async def test_a_node_that_cannot_be_reached_makes_captions_unavailable_until_it_is_back():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    channel = Channel("127.0.0.1", port, codec=CheckedProtoCodec())
    captioner = GrpcRoomCaptioner(channel, sink, token=SECRET, policy=CallPolicy(timeout=0.5, backoff=0.01,
                                                                                max_backoff=0.05), retry_max=0.05)
    try:
        await captioner.start(ROOM)  # returns (after one deadline): the task goes on trying
        await until(lambda: sink.events, "captions unavailable")
        assert sink.events[0] == ("unavailable", NODE_UNREACHABLE)
        relay = CaptionRelay()
        async with serving([MediaCaptionerServicer(FakeTap(relay), relay, (SECRET,))], "127.0.0.1", port):
            await until(lambda: ("resumed", ROOM) in sink.events, "captions resumed")
        assert sink.events.count(("unavailable", NODE_UNREACHABLE)) == 1
    finally:
        await captioner.close()
        channel.close()


async def test_a_stream_past_its_deadline_is_opened_again_without_a_gap_in_service(node):
    relay, tap, client, _ = node
    sink = Sink()
    captioner = client(sink, stream_deadline=0.3)
    await captioner.start(ROOM)
    await asyncio.sleep(1.0)  # a few deadlines
    await until(lambda: ROOM in relay._listeners, "the stream open again")
    await relay.heard(caption("still here"))
    await until(lambda: sink.events, "the caption")
    assert [e[0] for e in sink.events] == ["heard"]  # never unavailable


async def _status(port: int, path: str, data: bytes, reply: type, metadata: dict[str, str]) -> Status:
    channel = Channel("127.0.0.1", port)
    try:
        cardinality = Cardinality.UNARY_STREAM if path == CAPTION else Cardinality.UNARY_UNARY
        async with channel.request(path, cardinality, _Raw, reply, metadata=metadata, timeout=5) as stream:
            await stream.send_message(_Raw(data), end=True)
            try:
                await stream.recv_message()
            except GRPCError as err:
                return err.status
            return Status.OK
    finally:
        channel.close()


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:  # noqa: N802  (the codec's protocol)
        return self.data


@pytest.mark.parametrize("data", [bytes(pb.CaptionRequest(room_id="nope")), bytes(pb.CaptionRequest()), b"\x0a\x05ab"])
async def test_bad_caption_requests_are_invalid_argument(node, data):
    _, tap, _, port = node
    assert await _status(port, CAPTION, data, pb.CaptionEvent, {SERVICE_TOKEN: SECRET}) == Status.INVALID_ARGUMENT
    assert tap.calls == []


@pytest.mark.parametrize("metadata", [{}, {SERVICE_TOKEN: "wrong"}, {"authorization": "Bearer a.b.c"}])
async def test_caption_calls_without_the_service_secret_are_unauthenticated(node, metadata):
    _, tap, _, port = node
    assert await _status(port, CAPTION, bytes(pb.CaptionRequest(room_id=ROOM)), pb.CaptionEvent,
                         metadata) == Status.UNAUTHENTICATED
    assert await _status(port, CAPTIONING, b"", pb.RoomList, metadata) == Status.UNAUTHENTICATED
    assert tap.calls == []
