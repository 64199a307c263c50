"""The in-memory room adapters against the shared contracts: they are the oracle for the Redis ones."""

from __future__ import annotations

import pytest

from adapters.memory.rooms import InMemoryRoomPresence, InMemorySignalBus
from confero_contracts.rooms import RoomPresenceContract, SignalBusContract


class TestInMemoryRoomPresence(RoomPresenceContract):
    @pytest.fixture
    async def presence(self):
        return InMemoryRoomPresence()


class TestInMemorySignalBus(SignalBusContract):
    @pytest.fixture
    async def bus(self):
        return InMemorySignalBus()
