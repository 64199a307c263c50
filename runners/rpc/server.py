"""The grpclib servers of a process, as async context managers around the HTTP app's life."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from grpclib.server import Server

from adapters.grpc.observed import observe_server
from adapters.inprocess.meeting_access import InProcessMeetingAccess
from adapters.inprocess.user_directory import RepositoryUserDirectory
from runners.app_state import Services
from runners.rpc.errors import CheckedProtoCodec
from adapters.inprocess.captioned_meetings import RepositoryCaptionedMeetings
from runners.rpc.meetings import MeetingAccessServicer, MeetingStateServicer
from runners.rpc.servicer import AnalysisServicer
from runners.rpc.users import UsersServicer
from runners.settings import ConfigError, Settings

log = logging.getLogger("runners.rpc")


@asynccontextmanager
async def serving(servicers: Sequence[Any], host: str, port: int) -> AsyncIterator[Server]:
    """``servicers`` on host:port (port 0: any free port, see ``server._server.sockets``) until the block ends."""
    server = observe_server(Server(list(servicers), codec=CheckedProtoCodec()))  # spans and metrics of every call
    await server.start(host, port)
    log.info("grpc listening", extra={"host": host, "port": port,
                                      "services": [type(s).__name__ for s in servicers]})
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()


def service_secrets(settings: Settings) -> tuple[str, ...]:
    """The secrets a service-to-service server accepts; none is a start-up error (production refuses to
    start without APP_SERVICE_SECRETS; the embedded mode makes one per process, see runners/settings.py)."""
    if not settings.service_secrets:
        raise ConfigError("APP_SERVICE_SECRETS is required to serve gRPC to other services")
    return settings.service_secrets


@asynccontextmanager
async def analysis_grpc(services: Services, settings: Settings) -> AsyncIterator[Server]:
    assert services.analysis is not None
    servicer = AnalysisServicer(services.analysis, services.users, settings.ai_service_tokens,
                                max_chunk_bytes=settings.ai_grpc_max_message_bytes)
    async with serving([servicer], settings.host, settings.ai_grpc_port) as server:
        yield server


@asynccontextmanager
async def users_grpc(services: Services, settings: Settings) -> AsyncIterator[Server]:
    """The users service's gRPC API (proto/users.proto) over this process's users domain."""
    servicer = UsersServicer(services.users, RepositoryUserDirectory(services.users.users), service_secrets(settings))
    async with serving([servicer], settings.host, settings.users_grpc_port) as server:
        yield server


@asynccontextmanager
async def meetings_grpc(services: Services, settings: Settings) -> AsyncIterator[Server]:
    """The meetings service's gRPC API (proto/meetings.proto): MeetingAccess over this process's domain,
    MeetingState over its recordings and meetings (what signaling processes tell joining members)."""
    access = InProcessMeetingAccess(services.meetings, services.users.users)
    secrets = service_secrets(settings)
    assert services.rooms.recordings is not None  # the composition root always gives one
    state = MeetingStateServicer(services.rooms.recordings,
                                 RepositoryCaptionedMeetings(services.meetings.meetings), secrets)
    async with serving([MeetingAccessServicer(access, secrets), state], settings.host,
                       settings.meetings_grpc_port) as server:
        yield server


def bound_port(server: Server) -> int:
    """The port a server started on port 0 listens on."""
    sockets = server._server.sockets if server._server is not None else ()  # grpclib keeps its asyncio server there
    return int(sockets[0].getsockname()[1])
