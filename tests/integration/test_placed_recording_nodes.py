"""A recording through the placement of rooms on media nodes (APP_MEDIA_NODES=etcd, issue 14), in a
private network namespace.

``python -m tests.integration.test_placed_recording_nodes scenario`` runs, in one process: two media
nodes, each the real aiortc SFU with its recorder (AiortcRoomRecorder) behind the MediaNode and
MediaRecorder gRPC services on 127.0.0.1, registered as "media" in a memory registry and writing to one
shared blob store (a directory); two signaling processes, each a PlacedMediaServer over GrpcMediaServer
clients and one shared placement.  Alice joins through the first process, Bob through the second; the
first process's PlacedRoomRecorder (GrpcRoomRecorder on the node's media channel) records the room while
both publish, then stops.  It prints one RESULT line: which node held the room, which recorded, the files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_placed_recording_nodes"
SECRET = "the-service-secret-of-the-placed-recording-test-0123456789"
ROOM, RECORDING = "00000000-0000-4000-8000-0000000000ab", "00000000-0000-4000-8000-0000000000cd"
ALICE, BOB = "00000000-0000-4000-8000-00000000a11c", "00000000-0000-4000-8000-000000000b0b"
WAIT = 30.0  # a bound for a broken run, never an expected duration


@pytest.fixture
def netns_capable() -> None:
    require_unshare()
    from tests.support.encoded import require_ffmpeg

    require_ffmpeg()


@pytest.mark.usefixtures("netns_capable")
def test_a_recording_through_placement_runs_on_the_room_s_node_of_two() -> None:
    result, _ = run_module(MODULE, "scenario", timeout=180)
    print("placed recording:", result)
    assert result["recorded_on"] == [result["room_node"]]  # the other node recorded nothing
    assert result["listed_while_recording"] == [RECORDING]
    assert sorted(result["files"]) == sorted([ALICE, BOB])
    assert all(f["size"] > 0 and f["stored"] == f["size"] and f["duration_s"] > 0.5 and f["has_video"]
               for f in result["files"].values())
    assert result["listed_after"] == []


# --- the scenario (inside the namespace) --------------------------------------------------------------

class Node:
    """One media node: the aiortc SFU and its recorder behind the gRPC services, registered as "media"."""

    def __init__(self, node_id: str, store: Any, blobs: Any, members: dict[str, Any]) -> None:
        self.node_id, self.store, self.blobs, self.members = node_id, store, blobs, members
        self.stack = AsyncExitStack()

    async def start(self) -> None:
        from adapters.webrtc.recorder import AiortcRoomRecorder
        from adapters.webrtc.sfu import AiortcMediaServer
        from domain.discovery.model import ServiceInstance
        from domain.rooms.media_node import MediaNode
        from runners.rpc.media import MediaNodeServicer, MediaRecorderServicer
        from runners.rpc.server import bound_port, serving

        members = self.members

        class ToMembers:
            """The node's signals, straight to the test's members (the signal bus's job in production)."""

            async def to_member(self, room_id: str, user_id: str, kind: str, payload: Any) -> None:
                members[user_id].on_signal(kind, dict(payload))

            async def active_speaker(self, room_id: str, user_id: str) -> None:
                pass

            async def media_reset(self, room_id: str, user_id: str, reason: Any) -> None:
                raise AssertionError("a node never resets members")

        self.sfu = AiortcMediaServer(ToMembers())  # type: ignore[arg-type]
        self.recorder = AiortcRoomRecorder(self.sfu, self.blobs, upload_interval=0.5)
        server = await self.stack.enter_async_context(serving(
            [MediaNodeServicer(MediaNode(self.sfu), (SECRET,)), MediaRecorderServicer(self.recorder, (SECRET,))],
            "127.0.0.1", 0))
        self.registry = self.store.client()
        await self.registry.register(ServiceInstance("media", self.node_id, grpc=f"127.0.0.1:{bound_port(server)}"),
                                     dt.timedelta(seconds=30))

    async def stop(self) -> None:
        await self.registry.deregister("media", self.node_id)
        await self.stack.aclose()
        await self.recorder.close()
        await self.sfu.close()


async def scenario() -> dict[str, Any]:
    from adapters.grpc.client import CallPolicy
    from adapters.grpc.recorder import GrpcRoomRecorder
    from adapters.inprocess.placed_recording import PlacedRoomRecorder
    from adapters.localfs.blobs import LocalDirectoryBlobStore
    from adapters.memory.discovery import InMemoryDiscoveryStore
    from adapters.memory.placement import InMemoryRoomPlacement
    from adapters.system.clock import SystemClock
    from domain.shared.ids import MeetingId, RecordingId
    from tests.support.media_nodes import eventually, placed_member, placed_signaling
    from tests.support.sfu_member import SfuMember

    store = InMemoryDiscoveryStore(SystemClock())
    placement = InMemoryRoomPlacement()
    members: dict[str, SfuMember] = {}
    root = Path(tempfile.mkdtemp(prefix="placed-recording-"))
    blobs = LocalDirectoryBlobStore(root)
    nodes = {n: Node(n, store, blobs, members) for n in ("node-a", "node-b")}
    for node in nodes.values():
        await node.start()
    policy = CallPolicy(timeout=5.0, attempts=2, backoff=0.05, max_backoff=0.2)

    one, two = [await placed_signaling(store, placement, members, token=SECRET, policy=policy) for _ in range(2)]
    alice, bob = placed_member(ALICE, ROOM, one, members), placed_member(BOB, ROOM, two, members)
    await alice.join()
    await bob.join()
    await eventually(lambda: alice.frames_in(1) > 10 and bob.frames_in(1) > 10, bound=WAIT)
    room_node = await placement.node_of(MeetingId(ROOM))
    recorder = PlacedRoomRecorder(one, lambda node, client: GrpcRoomRecorder(client.channel, token=SECRET,
                                                                             policy=policy))
    await recorder.start(RecordingId(RECORDING), MeetingId(ROOM), f"recordings/{ROOM}/{RECORDING}")
    listed = await recorder.recording()
    recorded_on = sorted([n for n, node in nodes.items() if await node.recorder.recording()])
    await asyncio.sleep(2.0)  # both publish while the room is recorded
    files = await recorder.stop(RecordingId(RECORDING))
    result = {
        "room_node": room_node, "recorded_on": recorded_on, "listed_while_recording": listed,
        "files": {f.user_id: {"size": f.size, "duration_s": f.duration_s, "has_video": f.has_video,
                              "stored": len(await blobs.read(f.key))} for f in files},
        "listed_after": await recorder.recording(),
    }
    for m in (alice, bob):
        await m.close()
    for media in (one, two):
        await media.close()
    for node in nodes.values():
        await node.stop()
    await store.aclose()
    shutil.rmtree(root, ignore_errors=True)
    return result


if __name__ == "__main__":
    if sys.argv[1] == "scenario":
        allow_loopback_candidates()
        emit_result(asyncio.run(scenario()))
