"""Recording and captions through the placement of rooms on media nodes (APP_MEDIA_NODES=etcd,
adapters/inprocess/placed_recording.py): the RoomRecorder contract for PlacedRoomRecorder over one node
(real grpclib on 127.0.0.1 -> MediaRecorderServicer -> AiortcRoomRecorder over the stand-in SFU of
tests/unit/test_room_recorder.py), a recording that runs through placement with two nodes, the recovery
of a lost node's recording on another node, and captions following the room's node."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from adapters.grpc.media import GrpcMediaServer
from adapters.grpc.recorder import GrpcRoomRecorder
from adapters.inprocess.placed_recording import PlacedRoomCaptioner, PlacedRoomRecorder
from adapters.webrtc.recorder import AiortcRoomRecorder
from confero_contracts.recording_media import RoomRecorderContract
from domain.shared.ids import MeetingId, RecordingId, UserId, new_id
from runners.rpc.media import MediaNodeServicer, MediaRecorderServicer
from runners.rpc.server import bound_port, serving
from tests.support.encoded import require_ffmpeg
from tests.support.media_fakes import FakeMediaServer
from tests.support.media_nodes import MediaCluster, eventually
from tests.unit.test_grpc_recorder import FAST, SECRET
from tests.unit.test_room_recorder import FakeSfu, FakeSfuHarness, Sender


@pytest.fixture(autouse=True)
def _ffmpeg() -> None:
    require_ffmpeg()


class RecorderNode:
    """A media node behind a real gRPC server: a fake MediaNode (signals, stats) and a real recorder over
    its own stand-in SFU, writing to the shared blob store."""

    def __init__(self, blobs: Any) -> None:
        self.sfu = FakeSfu()
        self.recorder = AiortcRoomRecorder(self.sfu, blobs, upload_interval=0.5)  # type: ignore[arg-type]

    async def open(self) -> RecorderNode:
        self._serving = serving([MediaNodeServicer(FakeMediaServer(), (SECRET,)),  # what the probe asks
                                 MediaRecorderServicer(self.recorder, (SECRET,))], "127.0.0.1", 0)
        self.port = bound_port(await self._serving.__aenter__())
        return self

    def client(self) -> GrpcMediaServer:
        return GrpcMediaServer.to(f"127.0.0.1:{self.port}", token=SECRET, policy=FAST)

    async def close(self) -> None:
        await self._serving.__aexit__(None, None, None)
        await self.recorder.close()


def over_channel(node: str, client: Any) -> GrpcRoomRecorder:
    """As composed in production: the node's recorder on its media client's channel."""
    return GrpcRoomRecorder(client.channel, token=SECRET, policy=FAST)


class PlacedRecorderHarness(FakeSfuHarness):
    """The contract's harness: one node in a MediaCluster; ``recorder`` is a signaling process's
    PlacedRoomRecorder.  A restart is a new node (recorder, server: the old one leaves the registry) and
    a new signaling process."""

    async def open(self) -> PlacedRecorderHarness:
        self.stack = AsyncExitStack()
        self.cluster = await self.stack.enter_async_context(MediaCluster())
        self.name = 0
        await self._node()
        return self

    async def _node(self) -> None:
        self.node = await RecorderNode(self.blobs).open()
        self.sfu = self.node.sfu
        self.name += 1
        await self.cluster.add_node(f"n{self.name}", server=self.node.client())
        process = await self.cluster.process()
        self.recorder = PlacedRoomRecorder(process.media, over_channel)  # type: ignore[assignment]

    async def close(self) -> None:
        await self.recorder.close()  # type: ignore[attr-defined]
        await self.node.close()
        await self.cluster.nodes[f"n{self.name}"].server.close()
        await self.stack.aclose()

    async def restarted(self) -> Any:
        await self.recorder.close()  # type: ignore[attr-defined]
        await self.node.close()
        await self.cluster.nodes[f"n{self.name}"].server.close()
        await self.cluster.stop_node(f"n{self.name}")
        await self._node()
        return self.recorder


class TestPlacedRoomRecorder(RoomRecorderContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> Any:
        harness = await PlacedRecorderHarness(tmp_path).open()
        yield harness
        await harness.close()


@pytest.fixture
async def two_nodes(tmp_path: Path) -> Any:
    """Nodes "a" (busy) and "b" (idle), each a recorder behind its own gRPC server, one blob store."""
    base = FakeSfuHarness(tmp_path)
    async with AsyncExitStack() as stack:
        cluster = await stack.enter_async_context(MediaCluster())
        nodes = {}
        for name, streams in (("a", 40), ("b", 0)):
            node = nodes[name] = await RecorderNode(base.blobs).open()
            stack.push_async_callback(node.close)
            client = node.client()
            stack.push_async_callback(client.close)
            await cluster.add_node(name, streams=streams, server=client)
        yield cluster, nodes, base
    await base.recorder.close()


def _ids() -> tuple[RecordingId, MeetingId, str]:
    recording, room = RecordingId(new_id()), MeetingId(new_id())
    return recording, room, f"recordings/{room}/{recording}"


async def test_a_recording_runs_on_the_node_its_room_is_placed_on(two_nodes) -> None:
    cluster, nodes, base = two_nodes
    one, two = await cluster.process(), await cluster.process()
    recording, room, prefix = _ids()
    assert await two.media.node_of(room) == "b"  # another process placed the room (a member's offer)
    recorder = PlacedRoomRecorder(one.media, over_channel)
    ann = Sender(nodes["b"].sfu.join(room, "ann"))
    await recorder.start(recording, room, prefix)
    assert await nodes["b"].recorder.recording() == [recording] and await nodes["a"].recorder.recording() == []
    assert await recorder.recording() == [recording]
    await ann.send(1.0)
    files = await recorder.stop(recording)
    assert [f.user_id for f in files] == ["ann"] and abs(files[0].duration_s - 1.0) < 0.25
    assert base.frames(await base.blobs.read(files[0].key))
    assert await recorder.recording() == []
    # a room placed by the recorder itself goes to the least loaded node too
    other, other_room, other_prefix = _ids()
    await recorder.start(other, other_room, other_prefix)
    assert await cluster.placement.node_of(other_room) == "b"
    assert await nodes["b"].recorder.recording() == [other]


async def test_a_lost_node_s_recording_is_no_longer_listed_and_is_recovered_on_a_live_node(two_nodes) -> None:
    cluster, nodes, base = two_nodes
    p = await cluster.process()
    recorder = PlacedRoomRecorder(p.media, over_channel)
    recording, room, prefix = _ids()
    await recorder.start(recording, room, prefix)
    media = [Sender(nodes["b"].sfu.join(room, who)) for who in ("ann", "bob")]
    for m in media:
        await m.send(2.0)
    await nodes["b"].recorder.close()  # the node crashes: it finishes nothing
    await nodes["b"].close()
    await cluster.stop_node("b")
    await eventually(lambda: not p.media.live("b"))
    assert await recorder.recording() == []
    successor = PlacedRoomRecorder((await cluster.process()).media, over_channel)  # another process recovers
    files = await successor.recover(recording, prefix)
    assert sorted(f.user_id for f in files) == ["ann", "bob"]
    for f in files:
        assert base.frames(await base.blobs.read(f.key))


async def test_a_recovery_goes_to_the_live_node_still_running_the_recording(two_nodes) -> None:
    cluster, nodes, _ = two_nodes
    owner, successor = await cluster.process(), await cluster.process()
    recording, room, prefix = _ids()
    await PlacedRoomRecorder(owner.media, over_channel).start(recording, room, prefix)  # its process died
    await (Sender(nodes["b"].sfu.join(room, "ann"))).send(1.0)
    recovering = PlacedRoomRecorder(successor.media, over_channel)
    await recovering.start(*_ids())  # this process knows both nodes' recorders now ("b": least loaded)
    await cluster.report("b", streams=90)  # "a" is now the least loaded: a blind recovery would go there
    await cluster.report("a", streams=0)
    files = await recovering.recover(recording, prefix)
    assert [f.user_id for f in files] == ["ann"]
    assert recording not in await nodes["b"].recorder.recording()  # stopped where it ran


class FakeCaptioner:
    def __init__(self, node: str) -> None:
        self.node, self.rooms, self.closed = node, set(), False

    async def start(self, room_id: MeetingId) -> None:
        self.rooms.add(room_id)

    async def stop(self, room_id: MeetingId) -> None:
        self.rooms.discard(room_id)

    async def captioning(self) -> list[MeetingId]:
        return sorted(self.rooms)

    async def close(self) -> None:
        self.closed = True


async def test_captions_go_to_the_room_s_node_and_follow_it_when_another_process_moves_it() -> None:
    async with MediaCluster() as cluster:
        await cluster.add_node("a", streams=40)
        await cluster.add_node("b")
        host, other = await cluster.process(), await cluster.process()
        made: dict[str, FakeCaptioner] = {}
        captioner = PlacedRoomCaptioner(host.media, lambda node, client: made.setdefault(node, FakeCaptioner(node)),
                                        follow_interval=0.02)
        room = MeetingId(new_id())
        await captioner.start(room)
        assert made["b"].rooms == {room} and await captioner.captioning() == [room]
        # the members' media is on the other process, which notices the node's loss and moves the room
        await other.media.signal(room, UserId(new_id()), "offer", {"sdp": "v=0\r\n"})
        await cluster.stop_node("b")
        await eventually(lambda: room in made.get("a", FakeCaptioner("a")).rooms)
        assert made["b"].rooms == set() and await captioner.captioning() == [room]
        await captioner.stop(room)
        assert made["a"].rooms == set() and await captioner.captioning() == []
        await captioner.start(room)
        await captioner.close()
        assert made["a"].rooms == set() and made["a"].closed
