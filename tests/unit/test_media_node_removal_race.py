"""A member's session replaced through another signaling process (issue 14): the new offer may reach
the media node before the old process's removal, which must then not close the new connection.  The
node remembers which signaling connection made each member's current offer (domain/rooms/media_node.py);
the connection rides on the gRPC Signal and Remove messages (proto/media.proto)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from adapters.grpc.media import GrpcMediaServer
from domain.rooms import events as ev
from domain.rooms.media_node import MediaNode
from domain.rooms.model import LeaveReason
from domain.shared.ids import MeetingId, UserId
from runners.rpc.media import MediaNodeServicer
from runners.rpc.server import bound_port, serving
from runners.signaling.local_media import LocalMedia
from tests.support.media_fakes import FakeMediaServer
from tests.support.media_nodes import MediaCluster
from tests.unit.test_grpc_recorder import FAST, SECRET


def a_room() -> MeetingId:
    return MeetingId(str(uuid.uuid4()))


def a_user() -> UserId:
    return UserId(str(uuid.uuid4()))


def offer(connection: str | None) -> dict[str, Any]:
    return {"sdp": "v=0\r\n"} | ({"connection": connection} if connection else {})


async def test_a_removal_naming_an_older_connection_leaves_the_members_newer_connection() -> None:
    node, room, bob = MediaNode(FakeMediaServer()), a_room(), a_user()
    await node.signal(room, bob, "offer", offer("c-old"))
    await node.signal(room, bob, "offer", offer("c-new"))  # the new session's offer, through another process
    await node.remove(room, bob, "c-old")  # the old process's removal comes late
    assert node.server.rooms[room] == {bob}
    await node.remove(room, bob, "c-new")
    assert room not in node.server.rooms


async def test_a_removal_naming_the_current_connection_or_none_removes() -> None:
    node, room, bob, ann = MediaNode(FakeMediaServer()), a_room(), a_user(), a_user()
    await node.signal(room, bob, "offer", offer("c-bob"))
    await node.signal(room, ann, "offer", offer("c-ann"))
    await node.remove(room, ann, None)  # a kick: whatever connection Ann has
    await node.remove(room, bob, "c-bob")
    assert room not in node.server.rooms
    await node.signal(room, bob, "offer", offer(None))  # an offer that names no connection
    await node.remove(room, bob, "c-anything")
    assert room not in node.server.rooms


async def test_a_failed_offer_leaves_the_connection_it_would_have_replaced_removable() -> None:
    node, room, bob = MediaNode(FakeMediaServer()), a_room(), a_user()
    await node.signal(room, bob, "offer", offer("c-old"))
    node.server.failures.append(RuntimeError("no codec in common"))
    with pytest.raises(RuntimeError):
        await node.signal(room, bob, "offer", offer("c-new"))
    await node.remove(room, bob, "c-old")
    assert room not in node.server.rooms


@pytest.fixture
async def node() -> Any:
    """A media node behind a real gRPC server: MediaNode over a fake SFU."""
    media = MediaNode(FakeMediaServer())
    async with serving([MediaNodeServicer(media, (SECRET,))], "127.0.0.1", 0) as server:
        yield media, bound_port(server)


async def test_end_to_end_a_late_removal_from_the_old_process_leaves_the_new_session_on_the_node(node) -> None:
    media, port = node
    async with MediaCluster() as cluster:
        client = GrpcMediaServer.to(f"127.0.0.1:{port}", token=SECRET, policy=FAST)
        await cluster.add_node("n", server=client)
        old, new = await cluster.process(), await cluster.process()
        room, bob = a_room(), a_user()
        held_by_old = LocalMedia(old.media)
        await old.media.signal(room, bob, "offer", offer("c-old"))
        held_by_old.hold(room, bob, "c-old")
        await new.media.signal(room, bob, "offer", offer("c-new"))  # Bob's session moved to the other process
        held_by_old.on_event(ev.SessionReplaced(room_id=room, user_id=bob, connection_id="c-old"))
        await held_by_old.drain()
        assert "remove" not in [c[0] for c in media.server.calls]
        assert media.server.rooms[room] == {bob}
        held_by_new = LocalMedia(new.media)
        held_by_new.hold(room, bob, "c-new")
        held_by_new.on_event(ev.MemberLeft(room_id=room, user_id=bob, connection_id="c-new",
                                           reason=LeaveReason.LEFT))
        await held_by_new.drain()
        assert room not in media.server.rooms
        await client.close()
