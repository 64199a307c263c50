"""The etcd service registry: the discovery contract on the shared etcd (TEST_ETCD_URL), then what only
a real server shows: an etcd killed and started again on its data, a lease etcd forgot, a process
killed with SIGKILL."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import attrs
import pytest

from adapters.etcd.client import open_etcd
from adapters.etcd.discovery import EtcdServiceRegistry, encode
from confero_contracts.discovery import (WAIT, ServiceRegistryContract, a_service, an_instance, next_snapshot,
                                         until_listed)
from domain.discovery.model import InstanceLoad
from domain.shared.errors import Unavailable
from tests.support.servers import PrivateEtcd

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TTL = dt.timedelta(seconds=2)


class EtcdHarness:
    ttl = TTL

    def __init__(self, url: str, stack: AsyncExitStack) -> None:
        self.url = url
        self._stack = stack

    async def client(self) -> EtcdServiceRegistry:
        registry = EtcdServiceRegistry(await self._stack.enter_async_context(open_etcd(self.url)))
        self._stack.push_async_callback(registry.close)
        return registry

    async def crash(self, registry: EtcdServiceRegistry) -> None:
        await registry.abandon()

    async def let_time_pass(self, delta: dt.timedelta) -> None:
        await asyncio.sleep(delta.total_seconds())


class TestEtcdServiceRegistry(ServiceRegistryContract):
    @pytest.fixture
    async def harness(self, etcd_server_url) -> AsyncIterator[EtcdHarness]:
        async with AsyncExitStack() as stack:
            yield EtcdHarness(etcd_server_url, stack)


@pytest.fixture
def private_etcd() -> AsyncIterator[PrivateEtcd]:
    server = PrivateEtcd()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
async def clients(private_etcd) -> AsyncIterator[EtcdHarness]:
    async with AsyncExitStack() as stack:
        yield EtcdHarness(private_etcd.url, stack)


async def test_after_an_etcd_restart_registrations_are_back_and_a_watcher_misses_no_change(private_etcd, clients):
    owner, reader = await clients.client(), await clients.client()
    service = a_service()
    a, b = an_instance(service, "a"), an_instance(service, "b")
    await owner.register(a, dt.timedelta(seconds=5))
    await owner.register(b, dt.timedelta(seconds=5))
    async with reader.watch(service) as snapshots:
        assert (await next_snapshot(snapshots)).instances == (a, b)

        await asyncio.to_thread(private_etcd.kill)
        with pytest.raises(Unavailable):
            await reader.instances(service)
        await asyncio.to_thread(private_etcd.start)

        # Changes made as soon as etcd answers, while the watcher's stream is still being re-created.
        async def write_when_back() -> None:
            while True:
                try:
                    return await owner.update(attrs.evolve(a, load=InstanceLoad(streams=1)))
                except Unavailable:
                    await asyncio.sleep(0.05)
        await asyncio.wait_for(write_when_back(), WAIT)
        for n in range(2, 6):
            await owner.update(attrs.evolve(a, load=InstanceLoad(streams=n)))
        c = an_instance(service, "c")
        await owner.register(c, dt.timedelta(seconds=5))
        await owner.deregister(service, "b")

        seen = [await next_snapshot(snapshots) for _ in range(7)]
    assert [[(i.instance_id, i.load.streams) for i in s.instances] for s in seen] == [
        [("a", n), ("b", 0)] for n in range(1, 6)] + [[("a", 5), ("b", 0), ("c", 0)], [("a", 5), ("c", 0)]]
    assert [s.revision for s in seen] == sorted(set(s.revision for s in seen))
    await until_listed(reader, service, {"a", "c"})


async def test_a_registration_whose_lease_etcd_lost_is_made_again(private_etcd, clients):
    owner, reader = await clients.client(), await clients.client()
    service = a_service()
    inst = an_instance(service, "a", streams=7)
    await owner.register(inst, TTL)
    async with open_etcd(private_etcd.url) as raw:
        found = await raw.get(f"/confero/services/{service}/a".encode())
        assert found is not None and found.value == encode(inst)
        async with reader.watch(service) as snapshots:
            assert (await next_snapshot(snapshots)).instances == (inst,)
            await raw.revoke_lease(found.lease)  # etcd forgets the lease: the key goes with it
            assert (await next_snapshot(snapshots)).instances == ()
            assert (await next_snapshot(snapshots)).instances == (inst,)  # the keepalive put it back
        again = await raw.get(f"/confero/services/{service}/a".encode())
        assert again is not None and again.lease != found.lease
    await owner.update(attrs.evolve(inst, draining=True))  # and it is still this client's to update
    assert [i.draining for i in await reader.instances(service)] == [True]


_REGISTER_AND_WAIT = """
import asyncio, datetime as dt, sys
from adapters.etcd.client import open_etcd
from adapters.etcd.discovery import EtcdServiceRegistry
from domain.discovery.model import ServiceInstance

async def main():
    async with open_etcd(sys.argv[1]) as client:
        registry = EtcdServiceRegistry(client)
        await registry.register(ServiceInstance(sys.argv[2], "doomed", grpc="127.0.0.1:1"), dt.timedelta(seconds=2))
        print("registered", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture
async def shared(etcd_server_url) -> AsyncIterator[EtcdHarness]:
    async with AsyncExitStack() as stack:
        yield EtcdHarness(etcd_server_url, stack)


async def test_the_instance_of_a_killed_process_disappears_after_its_ttl(etcd_server_url, shared):
    reader = await shared.client()
    service = a_service()
    proc = subprocess.Popen([sys.executable, "-c", _REGISTER_AND_WAIT, etcd_server_url, service],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), WAIT)
        assert line.strip() == b"registered"
        async with reader.watch(service) as snapshots:
            assert [i.instance_id for i in (await next_snapshot(snapshots)).instances] == ["doomed"]
            os.kill(proc.pid, signal.SIGKILL)
            assert (await next_snapshot(snapshots)).instances == ()  # after the lease ran out
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
    assert await reader.instances(service) == []


async def test_every_call_raises_unavailable_while_etcd_is_down_and_works_again_after(private_etcd, clients):
    owner = await clients.client()
    service = a_service()
    inst = an_instance(service, "a")
    await owner.register(inst, dt.timedelta(seconds=5))
    await asyncio.to_thread(private_etcd.kill)
    for call in (lambda: owner.register(an_instance(service, "b"), TTL), lambda: owner.update(inst),
                 lambda: owner.instances(service)):
        with pytest.raises(Unavailable):
            await call()
    with pytest.raises(Unavailable):
        async with owner.watch(service):
            pass
    with pytest.raises(Unavailable):
        async with open_etcd(private_etcd.url):
            pass
    await asyncio.to_thread(private_etcd.start)

    # The client's connection comes back on gRPC's reconnect back-off, which may not be over yet when
    # etcd first answers its health check: until then a call raises Unavailable, as while it was down.
    async def listed_when_back() -> None:
        while True:
            try:
                return await until_listed(owner, service, {"a"})
            except Unavailable:
                await asyncio.sleep(0.05)
    await asyncio.wait_for(listed_when_back(), WAIT)
    await owner.deregister(service, "a")
    assert await owner.instances(service) == []


async def test_entries_that_are_not_instances_are_ignored_by_readers_and_watchers(etcd_server_url, shared):
    reader = await shared.client()
    service = a_service()
    async with open_etcd(etcd_server_url) as raw:
        await raw.put(f"/confero/services/{service}/junk".encode(), b"{not json")
        try:
            assert await reader.instances(service) == []
            async with reader.watch(service) as snapshots:
                assert (await next_snapshot(snapshots)).instances == ()
                await raw.put(f"/confero/services/{service}/junk2".encode(), b'{"service": 3}')
                await reader.register(an_instance(service, "ok"), TTL)
                assert [i.instance_id for i in (await next_snapshot(snapshots)).instances] == ["ok"]
        finally:
            await raw.delete_prefix(f"/confero/services/{service}/".encode())
