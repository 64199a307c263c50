from __future__ import annotations

import pytest

from adapters.memory.placement import InMemoryRoomPlacement
from confero_contracts.placement import RoomPlacementContract


class _OneStore:
    """Every "process" shares the one in-memory store, as tests of one process do."""

    def __init__(self) -> None:
        self.placement = InMemoryRoomPlacement()

    async def client(self) -> InMemoryRoomPlacement:
        return self.placement


class TestInMemoryRoomPlacement(RoomPlacementContract):
    @pytest.fixture
    async def harness(self):
        return _OneStore()
