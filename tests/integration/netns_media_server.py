"""The MediaServer contract (confero_contracts.media_server) for the aiortc SFU in process and for a
media node over gRPC (GrpcMediaServer -> real grpclib on 127.0.0.1 -> MediaNodeServicer -> MediaNode ->
the aiortc SFU).  Not collected on its own: tests/integration/test_media_server_contract.py runs it with
pytest inside a private network namespace (``python -m pytest`` on this file)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from confero_contracts.media_server import MediaServerContract, QueuedMediaSignals

SECRET = "the-shared-service-secret-of-the-media-contract-0123456789"


@pytest.fixture(autouse=True)
def _loopback_only() -> None:
    from tests.support.netns import allow_loopback_candidates

    allow_loopback_candidates()  # refuses to run outside a private namespace


class TestAiortcMediaServer(MediaServerContract):
    @pytest.fixture
    async def harness(self) -> Any:
        from adapters.webrtc.sfu import AiortcMediaServer

        signals = QueuedMediaSignals()
        media = AiortcMediaServer(signals)
        yield SimpleNamespace(media=media, signals=signals)
        await media.close()


class TestGrpcMediaServer(MediaServerContract):
    @pytest.fixture
    async def harness(self) -> Any:
        from adapters.grpc.client import CallPolicy
        from adapters.grpc.media import GrpcMediaServer
        from adapters.webrtc.sfu import AiortcMediaServer
        from domain.rooms.media_node import MediaNode
        from runners.rpc.media import MediaNodeServicer
        from runners.rpc.server import bound_port, serving

        signals = QueuedMediaSignals()
        sfu = AiortcMediaServer(signals)
        async with serving([MediaNodeServicer(MediaNode(sfu), (SECRET,))], "127.0.0.1", 0) as server:
            client = GrpcMediaServer.to(f"127.0.0.1:{bound_port(server)}", token=SECRET,
                                        policy=CallPolicy(timeout=15.0))
            yield SimpleNamespace(media=client, signals=signals)
            await client.close()
            await sfu.close()


class TestPlacedMediaServer(MediaServerContract):
    """PlacedMediaServer (APP_MEDIA_NODES=etcd) over two media nodes, each as TestGrpcMediaServer's, found in
    a memory registry: the rooms spread over both."""

    @pytest.fixture
    async def harness(self) -> Any:
        import datetime as dt
        from contextlib import AsyncExitStack

        from adapters.grpc.client import CallPolicy
        from adapters.grpc.media import GrpcMediaServer
        from adapters.inprocess.placed_media import PlacedMediaServer
        from adapters.memory.discovery import InMemoryDiscoveryStore
        from adapters.memory.placement import InMemoryRoomPlacement
        from adapters.system.clock import SystemClock
        from adapters.webrtc.sfu import AiortcMediaServer
        from domain.discovery.model import ServiceInstance
        from domain.rooms.media_node import MediaNode
        from runners.rpc.media import MediaNodeServicer
        from runners.rpc.server import bound_port, serving
        from tests.support.media_nodes import RecordedSignals

        signals, store = QueuedMediaSignals(), InMemoryDiscoveryStore(SystemClock())
        async with AsyncExitStack() as stack:
            sfus = []
            for node_id in ("node-a", "node-b"):
                sfu = AiortcMediaServer(signals)
                sfus.append(sfu)
                server = await stack.enter_async_context(
                    serving([MediaNodeServicer(MediaNode(sfu), (SECRET,))], "127.0.0.1", 0))
                await store.client().register(ServiceInstance("media", node_id, grpc=f"127.0.0.1:{bound_port(server)}"),
                                              dt.timedelta(seconds=30))
            media = PlacedMediaServer(store.client(), InMemoryRoomPlacement(),
                                      lambda i: GrpcMediaServer.to(i.grpc, token=SECRET, policy=CallPolicy(timeout=15.0)),
                                      RecordedSignals())
            await media.start()
            yield SimpleNamespace(media=media, signals=signals)
            await media.close()
            for sfu in sfus:
                await sfu.close()
        await store.aclose()
