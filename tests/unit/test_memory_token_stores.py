"""The in-memory adapters against the shared contracts: they are the oracle for the real ones."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.memory.events import InMemoryEventBus
from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.memory.tokens import InMemorySessionStore
from domain.users.throttling import Bucket
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



async def test_counters_of_logins_never_tried_again_are_swept_after_their_window():
    throttle = InMemoryLoginThrottle()
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    for n in range(throttle.SWEEP_EVERY - 1):
        await throttle.reserve([Bucket(f"login:made-up-{n}", 5, dt.timedelta(minutes=15))], now)
    assert len(throttle._attempts) == throttle.SWEEP_EVERY - 1
    await throttle.reserve([Bucket("login:one-more", 5, dt.timedelta(minutes=15))], now + dt.timedelta(hours=1))
    assert list(throttle._attempts) == ["login:one-more"]
