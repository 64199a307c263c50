"""A media node dies under a meeting (issue 14, docs/signaling.md 13.7), in a private network namespace.

``python -m tests.integration.test_media_node_loss scenario`` runs, in one process: two media nodes, each
the real aiortc SFU behind the MediaNode gRPC service on 127.0.0.1 and registered as "media" in a memory
registry; two signaling processes, each a PlacedMediaServer over GrpcMediaServer clients and one shared
placement; Alice on the first signaling process and Bob on the second (tests/support/sfu_member.py), each
publishing audio and marked video.  Once each receives the other's video, the node holding the room stops
(leaves the registry, its gRPC server and SFU close).  Both members get media_reset, offer from new peer
connections, which go to the other node, and receive each other's video again.  It prints one RESULT line
with what happened and the time from the node's stop to video back at both members.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from contextlib import AsyncExitStack
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_media_node_loss"
SECRET = "the-service-secret-of-the-media-node-loss-test-0123456789"
ROOM, ALICE, BOB = ("00000000-0000-4000-8000-0000000000aa", "00000000-0000-4000-8000-00000000a11c",
                    "00000000-0000-4000-8000-000000000b0b")
WAIT = 30.0  # a bound for a broken run, never an expected duration


@pytest.fixture
def netns_capable() -> None:
    require_unshare()


@pytest.mark.usefixtures("netns_capable")
@pytest.mark.parametrize("how", ["stop", "crash"])
def test_members_on_two_signaling_processes_get_media_back_on_another_node_after_theirs_stops(how):
    """``stop``: the node deregisters (the watch notices); ``crash``: it stays registered but answers
    nothing (the probe notices)."""
    result, output = run_module(MODULE, "scenario", how, timeout=180)
    print(f"media back after the node's {how}:", result["media_back_s"], "s", result)
    assert result["first_node"] != result["second_node"]
    assert result["placed_before"] == result["first_node"] and result["placed_after"] == result["second_node"]
    assert result["resets"] == {"alice": ["node_lost"], "bob": ["node_lost"]}
    # Before: each received the other's video through the first node; after: through the second one.
    assert result["video_before"]["alice"] > 0 and result["video_before"]["bob"] > 0
    assert result["video_after"]["alice"] > 0 and result["video_after"]["bob"] > 0
    assert result["second_node_members"] == sorted([ALICE, BOB])


# --- the scenario (inside the namespace) --------------------------------------------------------------

class Node:
    """One media node: the aiortc SFU behind the gRPC service, registered as "media"."""

    def __init__(self, node_id: str, store: Any, members: dict[str, Any]) -> None:
        self.node_id, self.store, self.members = node_id, store, members
        self.stack = AsyncExitStack()

    async def start(self) -> None:
        from adapters.webrtc.sfu import AiortcMediaServer
        from domain.discovery.model import ServiceInstance
        from domain.rooms.media_node import MediaNode
        from runners.rpc.media import MediaNodeServicer
        from runners.rpc.server import bound_port, serving
        from tests.support.media_nodes import DownableNode

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
        self.serving = DownableNode(self.sfu)
        server = await self.stack.enter_async_context(serving([MediaNodeServicer(MediaNode(self.serving), (SECRET,))],
                                                              "127.0.0.1", 0))
        self.registry = self.store.client()
        await self.registry.register(ServiceInstance("media", self.node_id, grpc=f"127.0.0.1:{bound_port(server)}"),
                                     dt.timedelta(seconds=30))

    async def stop(self, how: str = "stop") -> None:
        """``stop``: as a node process stopping, it leaves the registry, stops serving and closes its
        connections; ``crash``: it stays registered (its lease would run out later) and answers every call
        Unavailable, as a dead process's address would (grpclib's close keeps open connections served)."""
        self.serving.down = True
        if how == "stop":
            await self.registry.deregister("media", self.node_id)
        await self.stack.aclose()
        await self.sfu.close()


async def scenario(how: str) -> dict[str, Any]:
    from adapters.grpc.client import CallPolicy
    from adapters.memory.discovery import InMemoryDiscoveryStore
    from adapters.system.clock import SystemClock
    from tests.support.media_nodes import eventually, placed_member, placed_signaling
    from tests.support.sfu_member import SfuMember
    from adapters.memory.placement import InMemoryRoomPlacement

    store = InMemoryDiscoveryStore(SystemClock())
    placement = InMemoryRoomPlacement()
    members: dict[str, SfuMember] = {}
    nodes = {n: Node(n, store, members) for n in ("node-a", "node-b")}
    for node in nodes.values():
        await node.start()
    policy = CallPolicy(timeout=2.0, attempts=2, backoff=0.05, max_backoff=0.2)

    one, two = [await placed_signaling(store, placement, members, token=SECRET, policy=policy) for _ in range(2)]
    alice, bob = placed_member(ALICE, ROOM, one, members), placed_member(BOB, ROOM, two, members)
    joined = time.monotonic()
    await alice.join()
    await bob.join()
    await eventually(lambda: alice.frames_in(1) > 10 and bob.frames_in(1) > 10, bound=WAIT)
    first = await placement.node_of(ROOM)  # type: ignore[arg-type]
    first_media = max(alice.first_frame[1], bob.first_frame[1]) - joined  # the baseline: media up at the start
    video_before = {"alice": alice.frames_in(1), "bob": bob.frames_in(1)}

    stopped = time.monotonic()
    await nodes[first].stop(how)
    await eventually(lambda: alice.frames_in(2) > 10 and bob.frames_in(2) > 10, bound=WAIT)
    back = max(alice.first_frame[2], bob.first_frame[2]) - stopped
    second = await placement.node_of(ROOM)  # type: ignore[arg-type]
    result = {
        "first_node": first, "second_node": next(n for n in nodes if n != first), "placed_before": first,
        "placed_after": second, "resets": {"alice": [r for r, _ in alice.resets], "bob": [r for r, _ in bob.resets]},
        "reset_after_s": round(max(t for _, t in alice.resets + bob.resets) - stopped, 3),
        "how": how, "media_back_s": round(back, 3), "first_media_s": round(first_media, 3), "video_before": video_before,
        "video_after": {"alice": alice.frames_in(2), "bob": bob.frames_in(2)},
        "second_node_members": sorted(s.user_id for s in await nodes[second].sfu.stats(ROOM)),  # type: ignore[arg-type]
    }
    for m in (alice, bob):
        await m.close()
    for media in (one, two):
        await media.close()
    await nodes[second].stop()
    await store.aclose()
    return result


if __name__ == "__main__":
    import sys

    if sys.argv[1] == "scenario":
        allow_loopback_candidates()
        emit_result(asyncio.run(scenario(sys.argv[2])))
