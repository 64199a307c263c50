"""Contract for ports.placement.RoomPlacement.

A subclass provides a ``PlacementHarness`` (fixture ``harness``): ``await harness.client()`` is a new
client of the one store, as another signaling process would open it (the harness closes it at
teardown).  The races hold every caller at a barrier and release them together, each on its own client.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Protocol

import pytest

from domain.discovery.errors import NoInstanceAvailable
from domain.shared.ids import MeetingId
from ports.placement import RoomPlacement

RACERS = 12


class PlacementHarness(Protocol):
    async def client(self) -> RoomPlacement: ...


def a_room() -> MeetingId:
    return MeetingId(str(uuid.uuid4()))


def chosen(node: str, calls: list[str] | None = None):
    def choose() -> str:
        if calls is not None:
            calls.append(node)
        return node
    return choose


class RoomPlacementContract:
    @pytest.fixture
    async def harness(self) -> PlacementHarness:
        raise NotImplementedError

    async def test_a_room_never_placed_is_on_no_node(self, harness):
        placement = await harness.client()
        assert await placement.node_of(a_room()) is None

    async def test_the_first_placement_is_kept_and_later_callers_are_not_asked_to_choose(self, harness):
        placement, room, calls = await harness.client(), a_room(), []
        assert await placement.place(room, chosen("node-a", calls)) == "node-a"
        assert await placement.place(room, chosen("node-b", calls)) == "node-a"
        assert calls == ["node-a"]
        assert await placement.node_of(room) == "node-a"

    async def test_another_process_sees_the_same_node(self, harness):
        one, two, room = await harness.client(), await harness.client(), a_room()
        await one.place(room, chosen("node-a"))
        assert await two.place(room, chosen("node-b")) == "node-a"
        assert await two.node_of(room) == "node-a"

    async def test_a_failed_choice_propagates_and_stores_nothing(self, harness):
        placement, room = await harness.client(), a_room()

        def nothing() -> str:
            raise NoInstanceAvailable("no media node", service="media")

        with pytest.raises(NoInstanceAvailable):
            await placement.place(room, nothing)
        assert await placement.node_of(room) is None
        assert await placement.place(room, chosen("node-b")) == "node-b"

    async def test_rooms_are_placed_independently(self, harness):
        placement, one, two = await harness.client(), a_room(), a_room()
        await placement.place(one, chosen("node-a"))
        await placement.place(two, chosen("node-b"))
        assert (await placement.node_of(one), await placement.node_of(two)) == ("node-a", "node-b")

    async def test_a_move_from_the_current_node_moves_the_room(self, harness):
        placement, room = await harness.client(), a_room()
        await placement.place(room, chosen("node-a"))
        assert await placement.move(room, "node-a", "node-b") == "node-b"
        assert await placement.node_of(room) == "node-b"

    async def test_a_move_from_a_node_the_room_already_left_changes_nothing(self, harness):
        placement, room = await harness.client(), a_room()
        await placement.place(room, chosen("node-a"))
        await placement.move(room, "node-a", "node-b")
        assert await placement.move(room, "node-a", "node-c") == "node-b"
        assert await placement.node_of(room) == "node-b"

    async def test_repeating_a_move_is_harmless(self, harness):
        placement, room = await harness.client(), a_room()
        await placement.place(room, chosen("node-a"))
        await placement.move(room, "node-a", "node-b")
        assert await placement.move(room, "node-a", "node-b") == "node-b"

    async def test_a_move_of_a_room_not_placed_stores_nothing(self, harness):
        placement, room = await harness.client(), a_room()
        assert await placement.move(room, "node-a", "node-b") is None
        assert await placement.node_of(room) is None

    async def test_a_released_room_is_placed_afresh(self, harness):
        placement, room = await harness.client(), a_room()
        await placement.place(room, chosen("node-a"))
        await placement.release(room)
        assert await placement.node_of(room) is None
        assert await placement.move(room, "node-a", "node-b") is None
        assert await placement.place(room, chosen("node-c")) == "node-c"

    async def test_releasing_a_room_not_placed_does_nothing(self, harness):
        placement = await harness.client()
        await placement.release(a_room())

    async def test_racing_placements_agree_on_one_node(self, harness):
        room = a_room()
        clients = [await harness.client() for _ in range(RACERS)]
        barrier = asyncio.Barrier(RACERS)

        async def racer(i: int) -> str:
            await barrier.wait()
            return await clients[i].place(room, chosen(f"node-{i}"))

        results = await asyncio.gather(*(racer(i) for i in range(RACERS)))
        assert len(set(results)) == 1
        assert results[0] in {f"node-{i}" for i in range(RACERS)}
        assert await clients[0].node_of(room) == results[0]

    async def test_racing_moves_from_one_lost_node_agree_on_one_new_node(self, harness):
        room = a_room()
        clients = [await harness.client() for _ in range(RACERS)]
        await clients[0].place(room, chosen("lost"))
        barrier = asyncio.Barrier(RACERS)

        async def racer(i: int) -> str | None:
            await barrier.wait()
            return await clients[i].move(room, "lost", f"node-{i}")

        results = await asyncio.gather(*(racer(i) for i in range(RACERS)))
        assert len(set(results)) == 1
        assert results[0] in {f"node-{i}" for i in range(RACERS)}
        assert await clients[0].node_of(room) == results[0]
