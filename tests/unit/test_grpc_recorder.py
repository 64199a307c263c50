"""A media node's recorder over gRPC (proto/media.proto ``MediaRecorder``): the RoomRecorder contract for
GrpcRoomRecorder -> real grpclib on 127.0.0.1 -> MediaRecorderServicer -> AiortcRoomRecorder over the
stand-in SFU of tests/unit/test_room_recorder.py; what is particular to a remote recorder (only the
recordings this client started count as its own, a recovery stops a recording the node still runs, an
outage is Unavailable, never "not recording"), and bad input as status codes."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError

from adapters.grpc.client import CallPolicy
from adapters.grpc.recorder import LIST, RECOVER, START, STOP, GrpcRoomRecorder
from adapters.grpc.wire import SERVICE_TOKEN
from adapters.webrtc.recorder import AiortcRoomRecorder
from confero_contracts.recording_media import RoomRecorderContract
from domain.recordings.errors import RecordingConflict
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, RecordingId, new_id
from proto.confero.media import v1 as pb
from runners.rpc.media import MediaRecorderServicer
from runners.rpc.server import bound_port, serving
from tests.support.encoded import require_ffmpeg
from tests.unit.test_room_recorder import FakeSfu, FakeSfuHarness

SECRET = "the-shared-service-secret-of-the-recorder-tests-0123456789"
FAST = CallPolicy(timeout=10.0, attempts=3, backoff=0.001, max_backoff=0.01)


@pytest.fixture(autouse=True)
def _ffmpeg() -> None:
    require_ffmpeg()


class GrpcRecorderHarness(FakeSfuHarness):
    """The contract's harness with the recorder on a node: ``node`` is the AiortcRoomRecorder behind the
    server, ``recorder`` the client; a restart is a new node recorder, server and client."""

    async def open(self) -> GrpcRecorderHarness:
        self.node: AiortcRoomRecorder = self.recorder  # type: ignore[assignment]
        self._serving = serving([MediaRecorderServicer(self.node, (SECRET,))], "127.0.0.1", 0)
        self.port = bound_port(await self._serving.__aenter__())
        self.recorder = GrpcRoomRecorder.to(f"127.0.0.1:{self.port}", token=SECRET, policy=FAST)  # type: ignore[assignment]
        return self

    async def close(self) -> None:
        await self.recorder.close()
        await self._serving.__aexit__(None, None, None)
        await self.node.close()

    async def restarted(self) -> Any:
        await self.close()
        self.sfu = FakeSfu()
        self.recorder = AiortcRoomRecorder(self.sfu, self.blobs, upload_interval=0.5)  # type: ignore[arg-type]
        await self.open()
        return self.recorder


class TestGrpcRoomRecorder(RoomRecorderContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> Any:
        harness = await GrpcRecorderHarness(tmp_path).open()
        yield harness
        await harness.close()


@pytest.fixture
async def harness(tmp_path: Path) -> Any:
    harness = await GrpcRecorderHarness(tmp_path).open()
    yield harness
    await harness.close()


def _ids() -> tuple[RecordingId, MeetingId, str]:
    recording, room = RecordingId(new_id()), MeetingId(new_id())
    return recording, room, f"recordings/{room}/{recording}"


async def test_only_the_recordings_this_client_started_are_its_own(harness: GrpcRecorderHarness) -> None:
    mine, room, prefix = _ids()
    theirs, other_room, other_prefix = _ids()
    other = GrpcRoomRecorder.to(f"127.0.0.1:{harness.port}", token=SECRET, policy=FAST)
    try:
        await harness.recorder.start(mine, room, prefix)
        await other.start(theirs, other_room, other_prefix)
        assert await harness.recorder.recording() == [mine]
        assert await other.recording() == [theirs]
        with pytest.raises(RecordingConflict):
            await other.start(RecordingId(new_id()), room, other_prefix + "-2")
    finally:
        await other.close()


async def test_a_recovery_stops_a_recording_the_node_still_runs(harness: GrpcRecorderHarness) -> None:
    recording, room, prefix = _ids()
    sender = await harness.join(room, "ann")
    await harness.recorder.start(recording, room, prefix)
    await sender.send(1.0)
    successor = GrpcRoomRecorder.to(f"127.0.0.1:{harness.port}", token=SECRET, policy=FAST)
    try:
        files = await successor.recover(recording, prefix)
    finally:
        await successor.close()
    assert [f.user_id for f in files] == ["ann"]
    assert await harness.node.recording() == []
    assert await harness.recorder.recording() == []


async def test_a_recording_the_node_lost_is_no_longer_listed(harness: GrpcRecorderHarness) -> None:
    recording, room, prefix = _ids()
    await harness.recorder.start(recording, room, prefix)
    await harness.node.stop(recording)  # as if the node had restarted
    assert await harness.recorder.recording() == []


async def test_a_node_that_cannot_be_asked_is_unavailable_not_idle() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = GrpcRoomRecorder.to(f"127.0.0.1:{port}", token=SECRET, policy=FAST)
    try:
        for call in (client.recording(), client.stop(RecordingId(new_id())),
                     client.start(RecordingId(new_id()), MeetingId(new_id()), "recordings/a/b")):
            with pytest.raises(Unavailable):
                await call
    finally:
        await client.close()


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def SerializeToString(self) -> bytes:  # noqa: N802  (the codec's protocol)
        return self.data


async def _status(port: int, path: str, request: Any, reply: type, metadata: dict[str, str]) -> Status:
    channel = Channel("127.0.0.1", port)
    try:
        async with channel.request(path, Cardinality.UNARY_UNARY, _Raw, reply, metadata=metadata, timeout=10) as st:
            await st.send_message(_Raw(request if isinstance(request, bytes) else bytes(request)), end=True)
            try:
                await st.recv_message()
            except GRPCError as err:
                return err.status
            return Status.OK
    finally:
        channel.close()


RID, MID = new_id(), new_id()


@pytest.mark.parametrize("path,request_,reply", [
    (START, pb.StartRecordingRequest(recording_id="x", room_id=MID, key_prefix="recordings/a"), pb.StartRecordingReply),
    (START, pb.StartRecordingRequest(recording_id=RID, room_id="", key_prefix="recordings/a"), pb.StartRecordingReply),
    (START, pb.StartRecordingRequest(recording_id=RID, room_id=MID, key_prefix="../etc"), pb.StartRecordingReply),
    (START, pb.StartRecordingRequest(recording_id=RID, room_id=MID, key_prefix="/abs/path"), pb.StartRecordingReply),
    (START, pb.StartRecordingRequest(recording_id=RID, room_id=MID, key_prefix="a/./b"), pb.StartRecordingReply),
    (START, pb.StartRecordingRequest(recording_id=RID, room_id=MID, key_prefix=""), pb.StartRecordingReply),
    (STOP, pb.StopRecordingRequest(recording_id="nope"), pb.RecordedFiles),
    (RECOVER, pb.RecoverRecordingRequest(recording_id=RID, key_prefix="a b"), pb.RecordedFiles),
    (STOP, b"\x0a\xff", pb.RecordedFiles),
])
async def test_bad_requests_are_invalid_argument(harness: GrpcRecorderHarness, path, request_, reply) -> None:
    assert await _status(harness.port, path, request_, reply, {SERVICE_TOKEN: SECRET}) == Status.INVALID_ARGUMENT
    assert await harness.node.recording() == []


@pytest.mark.parametrize("metadata", [{}, {SERVICE_TOKEN: "wrong"}, {"authorization": "Bearer a.b.c"}])
async def test_recorder_calls_without_the_service_secret_are_unauthenticated(harness, metadata) -> None:
    for path, reply in ((START, pb.StartRecordingReply), (STOP, pb.RecordedFiles), (RECOVER, pb.RecordedFiles),
                        (LIST, pb.RecordingList)):
        assert await _status(harness.port, path, b"", reply, metadata) == Status.UNAUTHENTICATED


async def test_random_bytes_get_statuses_never_unknown_and_the_recorder_serves_on(harness: GrpcRecorderHarness) -> None:
    import random

    rng = random.Random(14)
    recording, room, prefix = _ids()
    samples = [(START, bytes(pb.StartRecordingRequest(recording_id=recording, room_id=room, key_prefix=prefix)),
                pb.StartRecordingReply),
               (STOP, bytes(pb.StopRecordingRequest(recording_id=recording)), pb.RecordedFiles),
               (RECOVER, bytes(pb.RecoverRecordingRequest(recording_id=recording, key_prefix=prefix)),
                pb.RecordedFiles),
               (LIST, b"", pb.RecordingList)]
    seen: set[Status] = set()
    for i in range(100):
        path, data, reply = samples[i % len(samples)]
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            if mutated:
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        mutated = mutated[:rng.randint(0, len(mutated))] if i % 3 == 0 else mutated
        status = await _status(harness.port, path, bytes(mutated), reply, {SERVICE_TOKEN: SECRET})
        assert status not in (Status.UNKNOWN, Status.INTERNAL), (path, bytes(mutated))
        seen.add(status)
    assert Status.INVALID_ARGUMENT in seen
    await harness.recorder.stop(recording)
    await harness.recorder.start(RecordingId(new_id()), MeetingId(new_id()), "recordings/still/serving")


def test_the_recorder_and_captioner_servicers_guard_every_method() -> None:
    from adapters.inprocess.caption_relay import CaptionRelay
    from runners.rpc.media import MediaCaptionerServicer

    for servicer in (MediaRecorderServicer(None, (SECRET,)),  # type: ignore[arg-type]
                     MediaCaptionerServicer(None, CaptionRelay(), (SECRET,))):
        mapping = servicer.__mapping__()
        assert mapping and all(h.func.__qualname__.endswith("_guarded.<locals>.handler") for h in mapping.values())
