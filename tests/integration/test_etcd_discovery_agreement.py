"""The etcd registry and the in-memory one, driven by the same random registrations, load reports and
deregistrations from two clients each, must give the same outcomes, the same listings, and watches
that reach the same state through snapshots that each differ from the one before."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from adapters.etcd.client import open_etcd
from adapters.etcd.discovery import EtcdServiceRegistry
from adapters.memory.discovery import InMemoryDiscoveryStore
from adapters.system.clock import FrozenClock
from confero_contracts.discovery import WAIT, a_service
from domain.discovery.model import InstanceLoad, ServiceInstance, ServiceSnapshot
from domain.shared.errors import DomainError
from ports.discovery import ServiceRegistry

pytestmark = pytest.mark.integration

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
TTL = dt.timedelta(seconds=30)  # the machine's loop idles between steps: no lease may run out meanwhile
IDS = st.sampled_from(["a", "b", "c"])
CLIENTS = st.integers(0, 1)
AGREEMENT = settings(max_examples=12, stateful_step_count=15, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


class _Watched:
    def __init__(self, snapshots: AsyncIterator[ServiceSnapshot], first: ServiceSnapshot) -> None:
        self.snapshots, self.last = snapshots, first

    async def catch_up(self, want: list[ServiceInstance]) -> None:
        while list(self.last.instances) != want:
            nxt = await asyncio.wait_for(anext(self.snapshots), WAIT)
            assert nxt.instances != self.last.instances and nxt.revision > self.last.revision
            self.last = nxt


class RegistriesAgree(RuleBasedStateMachine):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.stack = contextlib.AsyncExitStack()
        self.service = a_service()
        self.store = InMemoryDiscoveryStore(FrozenClock(T0))
        self.sides: list[list[ServiceRegistry]] = [[self.store.client(), self.store.client()], []]
        for _ in range(2):
            registry = EtcdServiceRegistry(self.run(self.stack.enter_async_context(open_etcd(url))))
            self.stack.push_async_callback(registry.close)
            self.sides[1].append(registry)
        self.watched = [self.run(self._watch(side[1])) for side in self.sides]

    async def _watch(self, registry: ServiceRegistry) -> _Watched:
        snapshots = await self.stack.enter_async_context(registry.watch(self.service))
        return _Watched(snapshots, await asyncio.wait_for(anext(snapshots), WAIT))

    def run(self, coro: Awaitable) -> object:
        return self.runner.run(coro)

    def teardown(self) -> None:
        self.run(self.stack.aclose())
        self.run(self.store.aclose())
        self.runner.close()

    def agree(self, op: Callable[[ServiceRegistry], Awaitable[None]], client: int) -> None:
        outcomes = []
        for side in self.sides:
            try:
                self.run(op(side[client]))
                outcomes.append(None)
            except DomainError as exc:
                outcomes.append(type(exc))
        assert outcomes[0] == outcomes[1]

    def instance(self, iid: str, streams: int, draining: bool) -> ServiceInstance:
        return ServiceInstance(self.service, iid, grpc=f"127.0.0.1:{5000 + streams}",
                               load=InstanceLoad(streams, streams / 10), draining=draining)

    @rule(client=CLIENTS, iid=IDS, streams=st.integers(0, 3), draining=st.booleans())
    def register(self, client, iid, streams, draining):
        self.agree(lambda r: r.register(self.instance(iid, streams, draining), TTL), client)

    @rule(client=CLIENTS, iid=IDS, streams=st.integers(0, 3), draining=st.booleans())
    def report(self, client, iid, streams, draining):
        self.agree(lambda r: r.update(self.instance(iid, streams, draining)), client)

    @rule(client=CLIENTS, iid=IDS)
    def deregister(self, client, iid):
        self.agree(lambda r: r.deregister(self.service, iid), client)

    @invariant()
    def listings_and_watches_agree(self):
        listings = [self.run(side[0].instances(self.service)) for side in self.sides]
        assert listings[0] == listings[1]
        for watched in self.watched:
            self.run(watched.catch_up(listings[0]))


def test_the_etcd_registry_agrees_with_the_in_memory_one(etcd_server_url):
    run_state_machine_as_test(lambda: RegistriesAgree(etcd_server_url), settings=AGREEMENT)
