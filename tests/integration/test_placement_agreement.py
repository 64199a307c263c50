"""The Redis room placement and the in-memory one, driven by the same random placements, moves and
releases of a few rooms, must answer alike and hold the same node for every room."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from adapters.memory.placement import InMemoryRoomPlacement
from adapters.redis.client import open_redis
from adapters.redis.placement import RedisRoomPlacement
from domain.discovery.errors import NoInstanceAvailable
from domain.shared.ids import MeetingId
from tests.integration.redis_fixtures import delete_prefix

pytestmark = pytest.mark.integration

ROOMS = [MeetingId(str(uuid.uuid4())) for _ in range(3)]
ROOM = st.sampled_from(ROOMS)
NODE = st.sampled_from(["node-a", "node-b", "node-c"])
AGREEMENT = settings(max_examples=15, stateful_step_count=20, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def _nothing() -> str:
    raise NoInstanceAvailable("no media node", service="media")


class PlacementsAgree(RuleBasedStateMachine):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.stack = contextlib.AsyncExitStack()
        self.prefix = f"test:{uuid.uuid4().hex[:12]}:"
        self.redis = self.run(self.stack.enter_async_context(open_redis(url)))
        self.sides = [InMemoryRoomPlacement(), RedisRoomPlacement(self.redis, prefix=self.prefix)]

    def run(self, coro: Awaitable[Any]) -> Any:
        return self.runner.run(coro)  # type: ignore[arg-type]

    def teardown(self) -> None:
        self.run(delete_prefix(self.redis, self.prefix))
        self.run(self.stack.aclose())
        self.runner.close()

    def agree(self, call: str, *args: Any) -> None:
        outcomes = []
        for side in self.sides:
            try:
                outcomes.append(self.run(getattr(side, call)(*args)))
            except NoInstanceAvailable:
                outcomes.append(NoInstanceAvailable)
        assert outcomes[0] == outcomes[1], (call, args, outcomes)

    @rule(room=ROOM, node=NODE)
    def place(self, room, node):
        self.agree("place", room, lambda: node)

    @rule(room=ROOM)
    def place_without_a_node(self, room):
        self.agree("place", room, _nothing)

    @rule(room=ROOM, old=NODE, new=NODE)
    def move(self, room, old, new):
        self.agree("move", room, old, new)

    @rule(room=ROOM)
    def release(self, room):
        self.agree("release", room)

    @invariant()
    def every_room_is_on_the_same_node(self):
        for room in ROOMS:
            self.agree("node_of", room)


def test_the_redis_placement_agrees_with_the_in_memory_one(redis_server_url):
    run_state_machine_as_test(lambda: PlacementsAgree(redis_server_url), settings=AGREEMENT)
