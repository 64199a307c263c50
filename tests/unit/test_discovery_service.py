"""Keeping a registration for a block and following a service's instances (domain/discovery/service.py),
on the in-memory registry."""

from __future__ import annotations

import asyncio
import datetime as dt

import attrs
import pytest

from adapters.memory.discovery import InMemoryDiscoveryStore
from adapters.system.clock import FrozenClock
from confero_contracts.discovery import WAIT, a_service, an_instance
from domain.discovery.errors import NoInstanceAvailable
from domain.discovery.model import InstanceLoad
from domain.discovery.placement import RoundRobin
from domain.discovery.service import ServiceView, registered

TTL = dt.timedelta(seconds=5)


@pytest.fixture
async def store():
    store = InMemoryDiscoveryStore(FrozenClock(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)))
    yield store
    await store.aclose()


async def test_an_instance_is_registered_inside_the_block_only(store):
    service, node, reader = a_service(), store.client(), store.client()
    async with registered(node, an_instance(service, "n1"), TTL):
        assert [i.instance_id for i in await reader.instances(service)] == ["n1"]
    assert await reader.instances(service) == []


async def test_a_view_follows_the_registry_and_picks_the_least_loaded_ready_instance(store):
    service, nodes, caller = a_service(), store.client(), store.client()
    view = ServiceView(caller, service)
    with pytest.raises(NoInstanceAvailable):
        view.pick()
    following = asyncio.create_task(view.follow())
    try:
        busy, idle = an_instance(service, "busy", streams=9), an_instance(service, "idle", streams=1)
        await nodes.register(busy, TTL)
        await nodes.register(idle, TTL)
        await asyncio.wait_for(view.wait_for(lambda s: len(s.instances) == 2), WAIT)
        assert view.pick() == idle
        await nodes.update(attrs.evolve(idle, draining=True))
        await asyncio.wait_for(view.wait_for(lambda s: s.get("idle").draining), WAIT)
        assert view.pick() == busy
        await nodes.update(attrs.evolve(busy, draining=True, load=InstanceLoad(streams=10)))
        await asyncio.wait_for(view.wait_for(lambda s: all(i.draining for i in s.instances)), WAIT)
        with pytest.raises(NoInstanceAvailable):
            view.pick()
    finally:
        following.cancel()


async def test_a_view_can_take_turns_instead(store):
    service, nodes, caller = a_service(), store.client(), store.client()
    for n in ("a", "b", "c"):
        await nodes.register(an_instance(service, n), TTL)
    view = ServiceView(caller, service, policy=RoundRobin().pick)
    following = asyncio.create_task(view.follow())
    try:
        await asyncio.wait_for(view.wait_for(lambda s: len(s.instances) == 3), WAIT)
        assert [view.pick().instance_id for _ in range(4)] == ["a", "b", "c", "a"]
    finally:
        following.cancel()
