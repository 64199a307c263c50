"""Login races on the memory family (the Redis family runs the same suite in tests/integration)."""

from __future__ import annotations

import pytest

from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.memory.tokens import InMemorySessionStore
from confero_contracts.login_races import LoginRaceSuite


class TestMemoryLoginRaces(LoginRaceSuite):
    @pytest.fixture
    async def stores(self):
        return InMemorySessionStore(), InMemoryLoginThrottle()
