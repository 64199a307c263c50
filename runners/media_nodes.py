"""APP_MEDIA_NODES=etcd (issue 14, docs/signaling.md 13.7): the media server this process composes is
PlacedMediaServer over the registry's "media" instances (``python -m runners.media``), one GrpcMediaServer
per node, the rooms' placement in Redis (production adapters; memory otherwise, for one signaling process).
Recording and the caption tap go to the node each room is placed on, over that node's channel
(adapters/inprocess/placed_recording.py, chosen in runners/recording_media.py and runners/captions.py).
Without the setting nothing changes: runners/media.py's media server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from dependency_injector import providers

from adapters.inprocess.media_signals import SignalBusMediaSignals
from adapters.inprocess.placed_media import PlacedMediaServer
from domain.discovery.model import ServiceInstance
from ports.placement import RoomPlacement
from runners.containers import resolve
from runners.remote import serves
from runners.rpc.clients import call_policy
from runners.rpc.server import service_secrets
from runners.settings import AdapterFamily, Settings
from runners.web.logs import request_id_var


@asynccontextmanager
async def media_nodes(family: Any, settings: Settings, tags: set[str] | None) -> AsyncIterator[PlacedMediaServer | None]:
    """Overrides the family's ``media`` for as long as the block runs."""
    if settings.media_nodes != "etcd" or not serves(tags, "media"):
        yield None
        return
    from adapters.etcd.client import open_etcd
    from adapters.etcd.discovery import EtcdServiceRegistry
    from adapters.grpc.media import GrpcMediaServer

    token, policy = service_secrets(settings)[0], call_policy(settings)

    def connect(node: ServiceInstance) -> GrpcMediaServer:
        return GrpcMediaServer.to(node.grpc, token=token, policy=policy, request_id=request_id_var.get)

    async with AsyncExitStack() as stack:
        registry = EtcdServiceRegistry(await stack.enter_async_context(open_etcd(settings.etcd_url)),
                                       prefix=settings.etcd_prefix)
        media = PlacedMediaServer(registry, await _placement(family, settings), connect,
                                  SignalBusMediaSignals(await resolve(family.signal_bus)),
                                  probe_interval=settings.media_node_probe_seconds,
                                  probe_timeout=min(settings.grpc_timeout, 2.0))  # a silent host: lost within ~3 s
        stack.enter_context(family.media.override(providers.Object(media)))
        await media.start()
        stack.push_async_callback(media.close)  # also closed by the web app's cleanup: closing twice is harmless
        yield media


async def _placement(family: Any, settings: Settings) -> RoomPlacement:
    if settings.adapters is AdapterFamily.PRODUCTION:
        from adapters.redis.placement import RedisRoomPlacement

        return RedisRoomPlacement(await resolve(family.redis))
    from adapters.memory.placement import InMemoryRoomPlacement

    return InMemoryRoomPlacement()
