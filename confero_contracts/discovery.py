"""Contract for ports.discovery.ServiceRegistry.

Registries differ in how a second process's client is made, how a process dies and how time passes,
so a subclass provides a ``DiscoveryHarness`` (fixture ``harness``):

- ``ttl``: the lease the tests register with (a real store needs whole seconds: 2 s is enough);
- ``await harness.client()``: a new registry client, as another process would open it (the harness
  closes it at teardown);
- ``await harness.crash(client)``: that client's process dies: it stops renewing its leases and
  deregisters nothing;
- ``await harness.let_time_pass(delta)``: a clock moved forward, or real time waited.

Each test uses service names of its own, so the suite can run against a shared server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Protocol

import attrs
import pytest

from domain.discovery.errors import InstanceAlreadyRegistered, InstanceNotRegistered, InvalidInstance
from domain.discovery.model import InstanceLoad, ServiceInstance, ServiceSnapshot
from ports.discovery import ServiceRegistry

WAIT = 30.0  # an upper bound for what must happen "after the TTL", never an expected duration


class DiscoveryHarness(Protocol):
    ttl: dt.timedelta

    async def client(self) -> ServiceRegistry: ...
    async def crash(self, registry: ServiceRegistry) -> None: ...
    async def let_time_pass(self, delta: dt.timedelta) -> None: ...


def a_service() -> str:
    return f"svc-{uuid.uuid4().hex[:12]}"


def an_instance(service: str, instance_id: str = "", *, streams: int = 0, cpu: float = 0.0,
                draining: bool = False) -> ServiceInstance:
    return ServiceInstance(service, instance_id or uuid.uuid4().hex[:8], http="http://127.0.0.1:8083",
                           grpc="127.0.0.1:50053", load=InstanceLoad(streams, cpu), draining=draining)


async def next_snapshot(snapshots: AsyncIterator[ServiceSnapshot]) -> ServiceSnapshot:
    return await asyncio.wait_for(anext(snapshots), WAIT)


async def until_listed(registry: ServiceRegistry, service: str, ids: set[str]) -> None:
    async def settled() -> None:
        while {i.instance_id for i in await registry.instances(service)} != ids:
            await asyncio.sleep(0.1)
    await asyncio.wait_for(settled(), WAIT)


class ServiceRegistryContract:
    @pytest.fixture
    async def harness(self) -> DiscoveryHarness:
        raise NotImplementedError

    async def test_a_registered_instance_is_listed_equal_by_every_client(self, harness):
        one, other = await harness.client(), await harness.client()
        service = a_service()
        b, a = an_instance(service, "b", streams=3, cpu=0.25), an_instance(service, "a")
        await one.register(b, harness.ttl)
        await other.register(a, harness.ttl)
        assert await one.instances(service) == [a, b]
        assert await other.instances(service) == [a, b]
        assert await one.instances(a_service()) == []

    async def test_an_instance_id_is_registered_once_at_a_time(self, harness):
        one, other = await harness.client(), await harness.client()
        service = a_service()
        await one.register(an_instance(service, "x"), harness.ttl)
        with pytest.raises(InstanceAlreadyRegistered):
            await one.register(an_instance(service, "x"), harness.ttl)
        with pytest.raises(InstanceAlreadyRegistered):
            await other.register(an_instance(service, "x", streams=9), harness.ttl)
        assert [i.load.streams for i in await other.instances(service)] == [0]

    async def test_of_racing_registrations_of_one_id_exactly_one_wins(self, harness):
        clients = [await harness.client() for _ in range(4)]
        service = a_service()
        results = await asyncio.gather(*(c.register(an_instance(service, "same", streams=n), harness.ttl)
                                         for n, c in enumerate(clients)), return_exceptions=True)
        assert sum(r is None for r in results) == 1
        assert all(r is None or isinstance(r, InstanceAlreadyRegistered) for r in results)
        winner = results.index(None)
        assert [i.load.streams for i in await clients[0].instances(service)] == [winner]

    async def test_a_load_report_replaces_the_value_others_read(self, harness):
        one, other = await harness.client(), await harness.client()
        service = a_service()
        inst = an_instance(service, "m1")
        await one.register(inst, harness.ttl)
        reported = attrs.evolve(inst, load=InstanceLoad(streams=12, cpu=0.5))
        await one.update(reported)
        assert await other.instances(service) == [reported]

    async def test_only_the_registering_client_may_update_its_live_instance(self, harness):
        one, other = await harness.client(), await harness.client()
        service = a_service()
        inst = an_instance(service, "m1")
        with pytest.raises(InstanceNotRegistered):
            await one.update(inst)
        await one.register(inst, harness.ttl)
        with pytest.raises(InstanceNotRegistered):
            await other.update(attrs.evolve(inst, draining=True))
        await one.deregister(service, "m1")
        with pytest.raises(InstanceNotRegistered):
            await one.update(inst)
        assert await other.instances(service) == []

    async def test_an_update_racing_the_deregistration_never_brings_the_instance_back(self, harness):
        one, reader = await harness.client(), await harness.client()
        service = a_service()
        for n in range(8):
            inst = an_instance(service, f"i{n}")
            await one.register(inst, harness.ttl)
            report, gone = await asyncio.gather(one.update(attrs.evolve(inst, load=InstanceLoad(streams=n + 1))),
                                                one.deregister(service, inst.instance_id), return_exceptions=True)
            assert gone is None and (report is None or isinstance(report, InstanceNotRegistered))
        assert await reader.instances(service) == []

    async def test_a_draining_instance_is_listed_and_flagged(self, harness):
        one = await harness.client()
        service = a_service()
        inst = an_instance(service, "d")
        await one.register(inst, harness.ttl)
        await one.update(attrs.evolve(inst, draining=True))
        assert [(i.instance_id, i.draining) for i in await one.instances(service)] == [("d", True)]

    async def test_deregistering_removes_at_once_and_is_harmless_for_unknown_instances(self, harness):
        one, other = await harness.client(), await harness.client()
        service = a_service()
        await one.register(an_instance(service, "a"), harness.ttl)
        await other.deregister(service, "a")  # not other's: nothing happens
        await one.deregister(service, "nobody")
        assert [i.instance_id for i in await one.instances(service)] == ["a"]
        await one.deregister(service, "a")
        await one.deregister(service, "a")
        assert await other.instances(service) == []
        await other.register(an_instance(service, "a"), harness.ttl)  # the id is free again
        assert [i.instance_id for i in await one.instances(service)] == ["a"]

    async def test_a_watch_starts_with_the_current_instances_then_follows_every_change_in_order(self, harness):
        one, other = await harness.client(), await harness.client()
        service = a_service()
        first = an_instance(service, "a")
        await one.register(first, harness.ttl)
        async with other.watch(service) as snapshots:
            start = await next_snapshot(snapshots)
            assert start.service == service and start.instances == (first,)
            second = an_instance(service, "b")
            await one.register(second, harness.ttl)
            busy = attrs.evolve(first, load=InstanceLoad(streams=4, cpu=0.1))
            await one.update(busy)
            await one.deregister(service, "b")
            seen = [await next_snapshot(snapshots) for _ in range(3)]
        assert [s.instances for s in seen] == [(first, second), (busy, second), (busy,)]
        revisions = [start.revision] + [s.revision for s in seen]
        assert revisions == sorted(set(revisions))

    async def test_a_watcher_sees_each_of_many_quick_load_reports(self, harness):
        one, other = await harness.client(), await harness.client()
        service = a_service()
        inst = an_instance(service, "a")
        await one.register(inst, harness.ttl)
        async with other.watch(service) as snapshots:
            await next_snapshot(snapshots)
            for n in range(1, 21):
                await one.update(attrs.evolve(inst, load=InstanceLoad(streams=n)))
            seen = [(await next_snapshot(snapshots)).instances[0].load.streams for _ in range(20)]
        assert seen == list(range(1, 21))

    async def test_an_unchanged_report_is_no_change_for_watchers(self, harness):
        one = await harness.client()
        service = a_service()
        inst = an_instance(service, "a")
        await one.register(inst, harness.ttl)
        async with one.watch(service) as snapshots:
            await next_snapshot(snapshots)
            await one.update(inst)
            changed = attrs.evolve(inst, draining=True)
            await one.update(changed)
            assert (await next_snapshot(snapshots)).instances == (changed,)

    async def test_watches_of_other_services_see_nothing_of_this_one(self, harness):
        one = await harness.client()
        service, unrelated = a_service(), a_service()
        async with one.watch(unrelated) as others, one.watch(service) as mine:
            assert (await next_snapshot(others)).instances == ()
            await next_snapshot(mine)
            await one.register(an_instance(service, "a"), harness.ttl)
            await next_snapshot(mine)
            await one.register(an_instance(unrelated, "u"), harness.ttl)
            assert [i.instance_id for i in (await next_snapshot(others)).instances] == ["u"]

    async def test_the_instance_of_a_dead_process_disappears_after_the_ttl_and_live_ones_stay(self, harness):
        doomed, alive, reader = await harness.client(), await harness.client(), await harness.client()
        service = a_service()
        await doomed.register(an_instance(service, "dead"), harness.ttl)
        await alive.register(an_instance(service, "live"), harness.ttl)
        async with reader.watch(service) as snapshots:
            assert [i.instance_id for i in (await next_snapshot(snapshots)).instances] == ["dead", "live"]
            await harness.crash(doomed)
            await harness.let_time_pass(harness.ttl * 2)
            gone = await next_snapshot(snapshots)
        assert [i.instance_id for i in gone.instances] == ["live"]
        await until_listed(reader, service, {"live"})
        await reader.register(an_instance(service, "dead"), harness.ttl)  # its id is free again

    async def test_malformed_names_are_invalid(self, harness):
        one = await harness.client()
        for bad in ("", "a/b", "x" * 65, "sp ace"):
            with pytest.raises(InvalidInstance):
                await one.instances(bad)
            with pytest.raises(InvalidInstance):
                async with one.watch(bad):
                    pass
        with pytest.raises(InvalidInstance):
            await one.register(an_instance(a_service()), dt.timedelta(0))
