"""The media node over gRPC (proto/media.proto) with a fake MediaServer behind real grpclib on 127.0.0.1:
signals, stats and load cross unchanged, domain errors come back as themselves (InvalidSignal with its
field, MediaNodeDraining), deadlines and retries (idempotent calls only), a node that is down is
Unavailable, and bad input (malformed messages, bad ids, no or a wrong service token, user tokens) gets a
status code, never a crash."""

from __future__ import annotations

import asyncio
import random
import socket

import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError

from adapters.grpc.client import CallPolicy
from adapters.grpc.media import CLOSE_ROOM, LOAD, REMOVE, SIGNAL, STATS, GrpcMediaServer, preferences_from_pb
from adapters.grpc.wire import SERVICE_TOKEN, CheckedProtoCodec
from adapters.webrtc.sfu import AiortcMediaServer
from domain.rooms.errors import InvalidSignal, MediaNodeDraining
from domain.rooms.layers import TileSize
from domain.rooms.media import MediaNodeLoad
from domain.rooms.media_node import MediaNode
from domain.rooms.preferences import MediaPreferences
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, UserId, new_id
from proto.confero.media import v1 as pb
from runners.rpc.media import MediaNodeServicer
from runners.rpc.server import bound_port, serving
from tests.support.media_fakes import FakeMediaServer

SECRET = "the-shared-service-secret-of-the-media-tests-0123456789"
FAST = CallPolicy(timeout=5.0, attempts=3, backoff=0.001, max_backoff=0.01)
ROOM, ANN, BOB = MeetingId(new_id()), UserId(new_id()), UserId(new_id())
CANDIDATE = {"candidate": "candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host", "sdpMid": "0",
             "sdpMLineIndex": 0, "usernameFragment": "abcd"}
LOADED = MediaNodeLoad(streams=4, cpu=0.25, rooms=1, connections=2, draining=False)


async def _load() -> MediaNodeLoad:
    return LOADED


@pytest.fixture
async def node():
    fake = FakeMediaServer()
    media = MediaNode(fake)
    async with serving([MediaNodeServicer(media, (SECRET,), _load)], "127.0.0.1", 0) as server:
        port = bound_port(server)
        client = GrpcMediaServer(Channel("127.0.0.1", port, codec=CheckedProtoCodec()), token=SECRET, policy=FAST)
        try:
            yield fake, media, client, port
        finally:
            await client.close()


async def test_signals_reach_the_server_as_the_port_gave_them(node):
    fake, _, client, _ = node
    await client.signal(ROOM, ANN, "offer", {"sdp": "v=0 offer"})
    await client.signal(ROOM, ANN, "answer", {"sdp": "v=0 answer"})
    await client.signal(ROOM, ANN, "ice_candidate", {"candidate": CANDIDATE})
    await client.signal(ROOM, ANN, "ice_candidate", {"candidate": {"candidate": ""}})
    assert fake.calls == [
        ("signal", ROOM, ANN, "offer", {"sdp": "v=0 offer"}),
        ("signal", ROOM, ANN, "answer", {"sdp": "v=0 answer"}),
        ("signal", ROOM, ANN, "ice_candidate", {"candidate": CANDIDATE}),
        ("signal", ROOM, ANN, "ice_candidate", {"candidate": {"candidate": "", "sdpMid": None,
                                                              "sdpMLineIndex": None, "usernameFragment": None}}),
    ]


async def test_a_restart_offer_crosses_with_its_marker(node):
    """docs/signaling.md 13.12: the node's SFU must know the offer restarts the member's connection."""
    fake, _, client, _ = node
    await client.signal(ROOM, ANN, "offer", {"sdp": "v=0 offer", "restart": True})
    await client.signal(ROOM, ANN, "offer", {"sdp": "v=0 offer", "restart": False})
    assert fake.calls == [("signal", ROOM, ANN, "offer", {"sdp": "v=0 offer", "restart": True}),
                          ("signal", ROOM, ANN, "offer", {"sdp": "v=0 offer"})]


async def test_media_preferences_cross_unchanged(node):
    """Only the fields the member sent cross (docs/signaling.md 13.9): the node keeps the others."""
    fake, _, client, _ = node
    sizes = {ANN: {"width": 640, "height": 360}}
    sent = [{"last_n": 4, "pinned": [ANN]}, {"last_n": None}, {"last_n": 0, "pinned": []}, {"video_sizes": sizes},
            {"video_sizes": {}}, {"pinned": [BOB]}, {}, {"last_n": 2, "pinned": [], "video_sizes": sizes}]
    for payload in sent:
        await client.signal(ROOM, ANN, "media_preferences", payload)
    assert fake.calls == [("signal", ROOM, ANN, "media_preferences", payload) for payload in sent]


class QuietSignals:
    async def to_member(self, *args: object) -> None: ...
    async def active_speaker(self, *args: object) -> None: ...
    async def media_reset(self, *args: object) -> None: ...


async def test_the_nodes_sfu_keeps_the_preferences_a_message_leaves_out():
    """The whole path to a node: tile sizes sent alone keep the member's N and pins (docs/signaling.md 13.9)."""
    sfu = AiortcMediaServer(QuietSignals())
    async with serving([MediaNodeServicer(MediaNode(sfu), (SECRET,), _load)], "127.0.0.1", 0) as server:
        client = GrpcMediaServer(Channel("127.0.0.1", bound_port(server), codec=CheckedProtoCodec()), token=SECRET,
                                 policy=FAST)
        try:
            await client.signal(ROOM, ANN, "media_preferences", {"last_n": 4, "pinned": [BOB]})
            await client.signal(ROOM, ANN, "media_preferences", {"video_sizes": {BOB: {"width": 640, "height": 360}}})
            assert sfu.preferences[(ROOM, ANN)] == MediaPreferences(
                last_n=4, pinned=frozenset({BOB}), video_sizes={BOB: TileSize(640, 360)})
            await client.signal(ROOM, ANN, "media_preferences", {"last_n": None, "pinned": []})
            assert sfu.preferences[(ROOM, ANN)] == MediaPreferences(video_sizes={BOB: TileSize(640, 360)})
            with pytest.raises(InvalidSignal):  # one bad field: nothing of the message applies
                await client.signal(ROOM, ANN, "media_preferences", {"last_n": 3, "pinned": [BOB] * 17})
            assert sfu.preferences[(ROOM, ANN)] == MediaPreferences(video_sizes={BOB: TileSize(640, 360)})
        finally:
            await client.close()
            await sfu.close()


def test_preferences_from_a_sender_that_predates_the_keep_flags_replace_every_field():
    old = pb.MediaPreferences().parse(bytes(pb.MediaPreferences(has_last_n=True, last_n=3, pinned=[ANN])))
    assert preferences_from_pb(old) == {"last_n": 3, "pinned": [ANN], "video_sizes": {}}


async def test_stats_remove_and_close_room_cross_unchanged(node):
    fake, _, client, _ = node
    await client.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    await client.signal(ROOM, BOB, "offer", {"sdp": "v=0"})
    assert await client.stats(ROOM) == await fake.stats(ROOM)
    await client.remove(ROOM, ANN)
    assert [m.user_id for m in await client.stats(ROOM)] == [BOB]
    await client.close_room(ROOM)
    assert await client.stats(ROOM) == []
    await client.remove(MeetingId(new_id()), ANN)  # unknown: nothing happens
    await client.close_room(MeetingId(new_id()))


async def test_the_load_report_crosses_unchanged(node):
    _, _, client, _ = node
    assert await client.load() == LOADED


async def test_an_invalid_signal_comes_back_with_its_field(node):
    _, _, client, _ = node
    with pytest.raises(InvalidSignal) as raised:
        await client.signal(ROOM, BOB, "answer", {"sdp": "v=0"})
    assert raised.value == InvalidSignal(field="sdp")


async def test_a_draining_node_refuses_new_rooms_but_serves_the_ones_it_holds(node):
    fake, media, client, _ = node
    await client.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    media.drain()
    await client.signal(ROOM, BOB, "offer", {"sdp": "v=0"})  # a latecomer to a room it holds
    other = MeetingId(new_id())
    with pytest.raises(MediaNodeDraining) as raised:
        await client.signal(other, ANN, "offer", {"sdp": "v=0"})
    assert raised.value == MediaNodeDraining(room_id=other)
    assert other not in fake.rooms
    assert await media.rooms() == [ROOM]
    await client.close_room(ROOM)
    assert await media.rooms() == []


async def test_idempotent_calls_are_retried_and_signal_is_not(node):
    fake, _, client, _ = node
    fake.failures = [Unavailable("blip"), Unavailable("blip")]
    await client.remove(ROOM, ANN)
    assert [c[0] for c in fake.calls] == ["remove"] * 3
    fake.calls.clear()
    fake.failures = [Unavailable("blip")]
    with pytest.raises(Unavailable):
        await client.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    assert [c[0] for c in fake.calls] == ["signal"]


async def test_a_call_past_its_deadline_is_unavailable(node):
    fake, _, _, port = node
    fake.gate = asyncio.Event()
    # A second: the server checks the deadline before its handler runs (and counts the call); 0.2 s was
    # already over there once on a loaded CI machine (the same test of the meeting client).
    slow = GrpcMediaServer(Channel("127.0.0.1", port, codec=CheckedProtoCodec()), token=SECRET,
                           policy=CallPolicy(timeout=1.0, attempts=2, backoff=0.001, max_backoff=0.01))
    try:
        with pytest.raises(Unavailable) as raised:
            await slow.stats(ROOM)
        assert raised.value.details["reason"] == "deadline_exceeded"
        assert [c[0] for c in fake.calls] == ["stats", "stats"]
        with pytest.raises(Unavailable):
            await slow.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
        assert [c[0] for c in fake.calls] == ["stats", "stats", "signal"]
    finally:
        fake.gate.set()
        await slow.close()


async def test_a_node_that_is_down_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    client = GrpcMediaServer.to(f"127.0.0.1:{port}", token=SECRET, policy=FAST)
    try:
        for call in (client.signal(ROOM, ANN, "offer", {"sdp": "v=0"}), client.remove(ROOM, ANN),
                     client.close_room(ROOM), client.stats(ROOM)):
            with pytest.raises(Unavailable):
                await call
    finally:
        await client.close()


async def test_closing_the_client_closes_its_channel_not_the_nodes_rooms(node):
    fake, _, client, port = node
    await client.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    await client.close()
    assert not fake.closed and ROOM in fake.rooms
    again = GrpcMediaServer.to(f"127.0.0.1:{port}", token=SECRET, policy=FAST)
    try:
        assert [m.user_id for m in await again.stats(ROOM)] == [ANN]
    finally:
        await again.close()


async def test_signals_the_wire_cannot_carry_are_invalid_before_any_call(node):
    fake, _, client, _ = node
    for kind, payload, field in [("offer", {}, "sdp"), ("answer", {"sdp": 3}, "sdp"), ("bye", {}, "kind"),
                                 ("ice_candidate", {"candidate": "text"}, "candidate"),
                                 ("ice_candidate", {"candidate": {"candidate": "c", "sdpMLineIndex": -1}},
                                  "candidate"),
                                 ("media_preferences", {"last_n": "4"}, "last_n"),
                                 ("media_preferences", {"last_n": -1}, "last_n"),
                                 ("media_preferences", {"pinned": "ann"}, "pinned"),
                                 ("media_preferences", {"pinned": [3]}, "pinned")]:
        with pytest.raises(InvalidSignal) as raised:
            await client.signal(ROOM, ANN, kind, payload)
        assert raised.value.details["field"] == field
    assert fake.calls == []


async def _raw(port: int, path: str, data: bytes, reply: type, metadata: dict[str, str]) -> Status:
    channel = Channel("127.0.0.1", port)
    try:
        async with channel.request(path, Cardinality.UNARY_UNARY, _Raw, reply, metadata=metadata,
                                   timeout=10) as stream:
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


CALLS = [(SIGNAL, pb.SignalReply), (REMOVE, pb.RemoveReply), (CLOSE_ROOM, pb.CloseRoomReply),
         (STATS, pb.StatsReply), (LOAD, pb.LoadReply)]


@pytest.mark.parametrize("metadata", [{}, {SERVICE_TOKEN: "not-the-secret"}, {"authorization": "Bearer a.b.c"}])
async def test_calls_without_the_service_secret_are_unauthenticated(node, metadata):
    fake, _, _, port = node
    data = bytes(pb.StatsRequest(room_id=ROOM))
    for path, reply in CALLS:
        assert await _raw(port, path, data, reply, metadata) == Status.UNAUTHENTICATED
    assert fake.calls == []


@pytest.mark.parametrize("request_", [
    pb.SignalRequest(room_id="nope", user_id=ANN, offer="v=0"),
    pb.SignalRequest(room_id=ROOM, user_id="", offer="v=0"),
    pb.SignalRequest(room_id=ROOM, user_id=ANN),
    pb.SignalRequest(room_id=ROOM, user_id=ANN, offer=""),
    pb.SignalRequest(room_id=ROOM, user_id=ANN, answer="x" * 32_001),
    pb.SignalRequest(room_id=ROOM, user_id=ANN, ice_candidate=pb.IceCandidate(candidate="c" * 2_001)),
    pb.SignalRequest(room_id=ROOM, user_id=ANN, media_preferences=pb.MediaPreferences(pinned=[ANN] * 101)),
    pb.SignalRequest(room_id=ROOM, user_id=ANN, media_preferences=pb.MediaPreferences(pinned=["x" * 65])),
    pb.RemoveRequest(room_id=ROOM, user_id=ROOM.upper()),
    pb.CloseRoomRequest(room_id="../" + ROOM),
    pb.StatsRequest(),
])
async def test_bad_requests_are_invalid_argument(node, request_):
    fake, _, _, port = node
    path = {pb.SignalRequest: SIGNAL, pb.RemoveRequest: REMOVE, pb.CloseRoomRequest: CLOSE_ROOM,
            pb.StatsRequest: STATS}[type(request_)]
    reply = dict(CALLS)[path]
    assert await _raw(port, path, bytes(request_), reply, {SERVICE_TOKEN: SECRET}) == Status.INVALID_ARGUMENT
    assert fake.calls == []


async def test_random_bytes_get_statuses_never_unknown_and_the_node_serves_on(node):
    fake, _, client, port = node
    rng = random.Random(14)
    samples = [bytes(pb.SignalRequest(room_id=ROOM, user_id=ANN, offer="v=0")),
               bytes(pb.SignalRequest(room_id=ROOM, user_id=ANN, ice_candidate=pb.IceCandidate(
                   candidate="candidate:1", sdp_mid="0", sdp_mline_index=0))),
               bytes(pb.RemoveRequest(room_id=ROOM, user_id=ANN)), bytes(pb.StatsRequest(room_id=ROOM))]
    seen: set[Status] = set()
    for i in range(120):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(0, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = data[:rng.randint(0, len(data))] if i % 3 == 0 else data
        path, reply = CALLS[i % len(CALLS)]
        status = await _raw(port, path, bytes(data), reply, {SERVICE_TOKEN: SECRET})
        assert status not in (Status.UNKNOWN, Status.INTERNAL), (path, bytes(data))
        seen.add(status)
    assert Status.INVALID_ARGUMENT in seen
    await client.signal(ROOM, BOB, "offer", {"sdp": "v=0"})
    assert BOB in fake.rooms[ROOM]


async def test_a_server_without_a_load_probe_says_unimplemented():
    async with serving([MediaNodeServicer(FakeMediaServer(), (SECRET,))], "127.0.0.1", 0) as server:
        assert await _raw(bound_port(server), LOAD, b"", pb.LoadReply, {SERVICE_TOKEN: SECRET}) == Status.UNIMPLEMENTED


def test_the_servicer_guards_every_method():
    mapping = MediaNodeServicer(FakeMediaServer(), (SECRET,)).__mapping__()
    assert len(mapping) == 5
    assert all(h.func.__qualname__.endswith("_guarded.<locals>.handler") for h in mapping.values())


async def test_the_callers_request_id_reaches_the_node(node):
    from adapters.grpc import wire

    fake, _, _, port = node
    seen: list[str | None] = []
    original = fake.stats

    async def stats(room_id):  # type: ignore[no-untyped-def]
        seen.append(wire.current_request_id.get())
        return await original(room_id)

    fake.stats = stats  # type: ignore[method-assign]
    named = GrpcMediaServer.to(f"127.0.0.1:{port}", token=SECRET, policy=FAST, request_id=lambda: "req-42.a")
    try:
        await named.stats(ROOM)
    finally:
        await named.close()
    assert seen == ["req-42.a"]
