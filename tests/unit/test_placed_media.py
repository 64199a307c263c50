"""PlacedMediaServer over fake media nodes: placement by load, draining, node loss and media_reset,
several signaling processes agreeing on one node (issue 14, docs/signaling.md section 13.7)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from adapters.memory.placement import InMemoryRoomPlacement
from domain.discovery.errors import NoInstanceAvailable
from domain.rooms import events as ev
from domain.rooms.errors import MediaNodeDraining
from domain.rooms.model import CloseReason, MediaResetReason
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, UserId
from runners.signaling.local_media import LocalMedia
from tests.support.media_nodes import MediaCluster, eventually

SDP = {"sdp": "v=0\r\n"}
LOST, DRAINED = MediaResetReason.NODE_LOST, MediaResetReason.NODE_DRAINED


def a_room() -> MeetingId:
    return MeetingId(str(uuid.uuid4()))


def a_user() -> UserId:
    return UserId(str(uuid.uuid4()))


def holding(cluster: MediaCluster, room: MeetingId) -> list[str]:
    """The live nodes holding the room (a node that is down keeps its stale state)."""
    return sorted(n for n, node in cluster.nodes.items() if room in node.server.rooms and not node.down)


@pytest.fixture
async def cluster():
    async with MediaCluster() as c:
        yield c


async def test_a_new_room_goes_to_the_least_loaded_node_that_is_not_draining(cluster):
    await cluster.add_node("busy", streams=40)
    await cluster.add_node("idle-but-draining", streams=0, draining=True)
    await cluster.add_node("light", streams=3)
    p = await cluster.process()
    room = a_room()
    await p.media.signal(room, a_user(), "offer", SDP)
    assert holding(cluster, room) == ["light"]
    assert await cluster.placement.node_of(room) == "light"


async def test_cpu_decides_between_nodes_with_as_many_streams(cluster):
    await cluster.add_node("hot", streams=2, cpu=0.8)
    await cluster.add_node("cool", streams=2, cpu=0.1)
    p = await cluster.process()
    room = a_room()
    await p.media.signal(room, a_user(), "offer", SDP)
    assert holding(cluster, room) == ["cool"]


async def test_members_on_different_processes_meet_on_the_one_node_of_their_room(cluster):
    await cluster.add_node("a")
    await cluster.add_node("b")
    one, two = await cluster.process(), await cluster.process()
    room, alice, bob = a_room(), a_user(), a_user()
    await one.media.signal(room, alice, "offer", SDP)
    await cluster.report(await cluster.placement.node_of(room), streams=50)  # the room's node is now busier
    await two.media.signal(room, bob, "offer", SDP)
    (node,) = holding(cluster, room)
    assert cluster.nodes[node].server.rooms[room] == {alice, bob}


async def test_every_call_for_a_room_reaches_its_node_and_the_end_releases_the_placement(cluster):
    await cluster.add_node("a")
    await cluster.add_node("b", streams=9)
    p = await cluster.process()
    room, alice = a_room(), a_user()
    await p.media.signal(room, alice, "offer", SDP)
    await p.media.signal(room, alice, "answer", SDP)
    assert [s.user_id for s in await p.media.stats(room)] == [alice]
    await p.media.remove(room, alice)
    await p.media.close_room(room)
    calls = [c[0] for c in cluster.nodes["a"].server.calls]
    assert calls == ["signal", "signal", "stats", "remove", "close_room"]
    assert cluster.nodes["b"].server.calls == []
    assert await cluster.placement.node_of(room) is None
    assert await p.media.stats(room) == []


async def test_kicks_leaves_and_ends_heard_by_a_process_without_the_member_reach_the_node(cluster):
    await cluster.add_node("a")
    holder, other = await cluster.process(), await cluster.process()
    room, alice, bob = a_room(), a_user(), a_user()
    await holder.media.signal(room, alice, "offer", SDP)
    await holder.media.signal(room, bob, "offer", SDP)
    local = LocalMedia(other.media)  # the process that consumed the meeting event holds nobody's media
    local.on_event(ev.MemberKicked(room_id=room, user_id=alice, by=None))
    await local.drain()
    assert cluster.nodes["a"].server.rooms[room] == {bob}
    local.on_event(ev.RoomClosed(room_id=room, reason=CloseReason.ENDED))
    await local.drain()
    assert room not in cluster.nodes["a"].server.rooms
    assert await cluster.placement.node_of(room) is None


async def test_a_node_that_leaves_the_registry_moves_its_rooms_and_resets_each_process_s_own_members(cluster):
    await cluster.add_node("a")
    await cluster.add_node("b", streams=5)
    await cluster.add_node("c", streams=7)
    one, two = await cluster.process(), await cluster.process()
    room, alice, bob = a_room(), a_user(), a_user()
    elsewhere, carol = a_room(), a_user()
    await one.media.signal(room, alice, "offer", SDP)
    await two.media.signal(room, bob, "offer", SDP)
    await cluster.report("a", streams=20)
    await eventually(lambda: [n.load.streams for n in two.media.nodes()] == [20, 5, 7])
    await two.media.signal(elsewhere, carol, "offer", SDP)  # on b, untouched by a's loss
    assert holding(cluster, elsewhere) == ["b"]

    await cluster.stop_node("a")
    await eventually(lambda: one.signals.resets and two.signals.resets)
    assert one.signals.resets == [(room, alice, LOST)]
    assert two.signals.resets == [(room, bob, LOST)]
    assert await cluster.placement.node_of(room) == "b"
    await one.media.signal(room, alice, "offer", SDP)  # the clients start over, on the new node
    await two.media.signal(room, bob, "offer", SDP)
    assert cluster.nodes["b"].server.rooms[room] == {alice, bob}
    assert cluster.nodes["b"].server.rooms[elsewhere] == {carol}


async def test_a_node_that_stops_answering_is_noticed_by_the_probe_and_by_a_relayed_signal(cluster):
    await cluster.add_node("a")
    await cluster.add_node("b", streams=1)
    probing, relaying = await cluster.process(), await cluster.process(probe_interval=3600)
    room, alice, bob = a_room(), a_user(), a_user()
    await probing.media.signal(room, alice, "offer", SDP)
    await relaying.media.signal(room, bob, "offer", SDP)
    cluster.nodes["a"].down = True  # still registered: it just does not answer

    await eventually(lambda: probing.signals.resets)
    assert probing.signals.resets == [(room, alice, LOST)]
    # bob's process has not probed: its next relayed signal finds the room moved, and bob starts over
    await relaying.media.signal(room, bob, "ice_candidate", {"candidate": {"candidate": ""}})
    assert relaying.signals.resets == [(room, bob, LOST)]
    assert await cluster.placement.node_of(room) == "b"


async def test_a_signal_that_meets_a_dead_node_resets_its_sender_and_is_not_an_error(cluster):
    await cluster.add_node("a")
    await cluster.add_node("b", streams=1)
    p = await cluster.process(probe_interval=3600)
    room, alice = a_room(), a_user()
    await p.media.signal(room, alice, "offer", SDP)
    cluster.nodes["a"].down = True
    await p.media.signal(room, alice, "answer", SDP)
    assert p.signals.resets == [(room, alice, LOST)]
    await p.media.signal(room, alice, "offer", SDP)
    assert holding(cluster, room) == ["b"]


async def test_two_processes_that_notice_one_loss_with_different_views_agree_on_one_node(cluster):
    await cluster.add_node("a")
    await cluster.add_node("b", streams=1)
    await cluster.add_node("c", streams=2)
    one, two = await cluster.process(probe_interval=3600), await cluster.process(probe_interval=3600)
    room, alice, bob = a_room(), a_user(), a_user()
    await one.media.signal(room, alice, "offer", SDP)
    await two.media.signal(room, bob, "offer", SDP)
    cluster.nodes["a"].down = True
    await one.media.node_failed("a")  # one proposes b
    await cluster.report("b", streams=30)
    await eventually(lambda: [n.instance_id for n in two.media.nodes() if n.load.streams == 30] == ["b"])
    await two.media.node_failed("a")  # two would propose c, but the room already left a
    assert await cluster.placement.node_of(room) == "b"
    assert one.signals.resets == [(room, alice, LOST)] and two.signals.resets == [(room, bob, LOST)]
    await two.media.signal(room, bob, "offer", SDP)
    assert holding(cluster, room) == ["b"]


async def test_processes_racing_on_one_loss_each_propose_and_all_end_on_one_node(cluster):
    for i, node in enumerate("abcdef"):
        await cluster.add_node(node, streams=i)
    processes = [await cluster.process(probe_interval=3600) for _ in range(5)]
    room, users = a_room(), [a_user() for _ in processes]
    for p, user in zip(processes, users):
        await p.media.signal(room, user, "offer", SDP)
    assert holding(cluster, room) == ["a"]

    barrier = asyncio.Barrier(len(processes))
    proposals: list[str] = []

    class HeldAtABarrier(InMemoryRoomPlacement):
        async def move(self, room_id, from_node, to_node):
            proposals.append(to_node)
            await barrier.wait()
            return await shared.move(room_id, from_node, to_node)

    shared = cluster.placement
    for i, p in enumerate(processes):
        p.media.placement = HeldAtABarrier()
        p.media._nodes.pop("bcdef"[i])  # each process's view differs: each proposes another node
    cluster.nodes["a"].down = True
    await asyncio.gather(*(p.media.node_failed("a") for p in processes))
    assert len(set(proposals)) > 1
    winner = await shared.node_of(room)
    assert winner in proposals
    assert {p.media._rooms[room] for p in processes} == {winner}
    assert sorted(u for p in processes for _, u, _ in p.signals.resets) == sorted(users)


async def test_a_draining_node_keeps_its_rooms_and_they_move_with_node_drained_when_it_goes(cluster):
    await cluster.add_node("a")
    await cluster.add_node("b", streams=4)
    p = await cluster.process()
    room, alice, bob = a_room(), a_user(), a_user()
    await p.media.signal(room, alice, "offer", SDP)
    await cluster.report("a", draining=True)
    await eventually(lambda: all(n.draining for n in p.media.nodes() if n.instance_id == "a"))
    await p.media.signal(room, bob, "offer", SDP)  # a latecomer joins the room where it is
    new_room = a_room()
    await p.media.signal(new_room, a_user(), "offer", SDP)
    assert holding(cluster, room) == ["a"] and holding(cluster, new_room) == ["b"]
    await asyncio.sleep(5 * cluster.probe_interval)
    assert p.signals.resets == []

    await cluster.stop_node("a")  # the drain ended
    await eventually(lambda: len(p.signals.resets) == 2)
    assert sorted(p.signals.resets) == sorted([(room, alice, DRAINED), (room, bob, DRAINED)])
    assert await cluster.placement.node_of(room) == "b"


async def test_a_node_that_refuses_a_new_room_because_it_began_draining_sees_the_room_moved(cluster):
    await cluster.add_node("a")
    await cluster.add_node("b", streams=4)
    p = await cluster.process()
    room, alice = a_room(), a_user()
    cluster.nodes["a"].server.failures.append(MediaNodeDraining("draining", room_id=room))
    await p.media.signal(room, alice, "offer", SDP)
    assert holding(cluster, room) == ["b"]
    assert p.signals.resets == []


async def test_without_a_node_to_take_the_room_an_offer_is_unavailable(cluster):
    await cluster.add_node("a", draining=True)
    p = await cluster.process()
    with pytest.raises(NoInstanceAvailable):
        await p.media.signal(a_room(), a_user(), "offer", SDP)


async def test_when_the_last_node_is_lost_members_are_reset_once_and_offers_are_unavailable(cluster):
    await cluster.add_node("a")
    p = await cluster.process()
    room, alice = a_room(), a_user()
    await p.media.signal(room, alice, "offer", SDP)
    await cluster.stop_node("a")
    await eventually(lambda: p.signals.resets)
    await asyncio.sleep(5 * cluster.probe_interval)
    assert p.signals.resets == [(room, alice, LOST)]
    with pytest.raises(Unavailable):
        await p.media.signal(room, alice, "offer", SDP)
    await cluster.add_node("b")
    await eventually(lambda: [n.instance_id for n in p.media.nodes()] == ["b"])
    await p.media.signal(room, alice, "offer", SDP)
    assert holding(cluster, room) == ["b"]


async def test_a_signaling_process_that_stops_leaves_its_members_media_on_the_node(cluster):
    await cluster.add_node("a")
    one, two = await cluster.process(), await cluster.process()
    room, alice, bob = a_room(), a_user(), a_user()
    await one.media.signal(room, alice, "offer", SDP)
    await two.media.signal(room, bob, "offer", SDP)
    await one.media.close()
    assert cluster.nodes["a"].server.rooms[room] == {alice, bob}
    await two.media.signal(room, alice, "offer", SDP)  # alice came back through the other process
    assert cluster.nodes["a"].server.rooms[room] == {alice, bob}
    assert [c[0] for c in cluster.nodes["a"].server.calls].count("remove") == 0
