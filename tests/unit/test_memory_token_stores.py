"""The in-memory adapters against the shared contracts: they are the oracle for the real ones."""

from __future__ import annotations

import pytest

from adapters.memory.events import InMemoryEventBus
from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.memory.tokens import InMemorySessionStore
from confero_contracts.events import MAX_ATTEMPTS, EventPublisherContract, Handler
from confero_contracts.sessions import SessionStoreContract
from confero_contracts.throttle import LoginThrottleContract


class TestInMemorySessionStore(SessionStoreContract):
    @pytest.fixture
    async def store(self):
        return InMemorySessionStore()


class TestInMemoryLoginThrottle(LoginThrottleContract):
    @pytest.fixture
    async def throttle(self):
        return InMemoryLoginThrottle()


class InMemoryHarness:
    """Subscribers run inside ``publish``; ``deliver`` retries what a failing subscriber left queued."""

    def __init__(self) -> None:
        # A long retry delay: the test drives every retry through ``deliver``.
        self.publisher = InMemoryEventBus(max_attempts=MAX_ATTEMPTS, retry_delay=3600)
        self.dead_letters = self.publisher.dead_letters

    async def subscribe(self, handler: Handler) -> None:
        self.publisher.subscribe(handler)

    async def deliver(self) -> None:
        await self.publisher.deliver()


class TestInMemoryEventBus(EventPublisherContract):
    @pytest.fixture
    async def harness(self):
        return InMemoryHarness()

