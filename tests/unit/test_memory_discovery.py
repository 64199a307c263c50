"""The in-memory service registry against the discovery contract, plus what only it does."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from adapters.memory.discovery import InMemoryDiscoveryStore, InMemoryServiceRegistry
from adapters.system.clock import FrozenClock
from confero_contracts.discovery import ServiceRegistryContract, a_service, an_instance

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


class MemoryHarness:
    ttl = dt.timedelta(seconds=2)

    def __init__(self) -> None:
        self.clock = FrozenClock(T0)
        self.store = InMemoryDiscoveryStore(self.clock, reap_interval=0.01)

    async def client(self) -> InMemoryServiceRegistry:
        return self.store.client()

    async def crash(self, registry: InMemoryServiceRegistry) -> None:
        registry.crash()

    async def let_time_pass(self, delta: dt.timedelta) -> None:
        self.clock.advance(delta)


class TestInMemoryServiceRegistry(ServiceRegistryContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[MemoryHarness]:
        harness = MemoryHarness()
        yield harness
        await harness.store.aclose()


async def test_closing_a_client_deregisters_its_instances_at_once():
    harness = MemoryHarness()
    one, other = await harness.client(), await harness.client()
    service = a_service()
    await one.register(an_instance(service, "a"), harness.ttl)
    await other.register(an_instance(service, "b"), harness.ttl)
    await one.close()
    assert [i.instance_id for i in await other.instances(service)] == ["b"]


async def test_a_dead_process_keeps_its_instance_until_the_ttl_has_passed_on_the_clock():
    harness = MemoryHarness()
    doomed, reader = await harness.client(), await harness.client()
    service = a_service()
    await doomed.register(an_instance(service, "a"), dt.timedelta(seconds=10))
    doomed.crash()
    harness.clock.advance(dt.timedelta(seconds=9, microseconds=999999))
    assert [i.instance_id for i in await reader.instances(service)] == ["a"]
    harness.clock.advance(dt.timedelta(microseconds=1))
    assert await reader.instances(service) == []
    await harness.store.aclose()
