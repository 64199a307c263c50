"""The grpclib server of a process, as an async context manager around the HTTP app's life."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from grpclib.server import Server

from runners.app_state import Services
from runners.rpc.errors import CheckedProtoCodec
from runners.rpc.servicer import AnalysisServicer
from runners.settings import Settings

log = logging.getLogger("runners.rpc")


@asynccontextmanager
async def analysis_grpc(services: Services, settings: Settings) -> AsyncIterator[Server]:
    assert services.analysis is not None
    servicer = AnalysisServicer(services.analysis, services.users, settings.ai_service_tokens,
                                max_chunk_bytes=settings.ai_grpc_max_message_bytes)
    server = Server([servicer], codec=CheckedProtoCodec())
    await server.start(settings.host, settings.ai_grpc_port)
    log.info("grpc listening", extra={"host": settings.host, "port": settings.ai_grpc_port})
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
