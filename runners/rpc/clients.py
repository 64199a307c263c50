"""Composition helpers for the service-to-service gRPC adapters and servers (docs/grpc.md): the call
policy from the settings, the client adapters of the remote services as async context managers (DI
Resources), and the users and meetings servicers over the ports a process composes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from adapters.grpc.client import CallPolicy, RpcClient
from adapters.grpc.meeting_access import GrpcMeetingAccess
from adapters.grpc.users import GrpcUsers
from ports.rooms import MeetingAccess
from ports.users import Authenticator, UserDirectory
from runners.rpc.meetings import MeetingAccessServicer
from runners.rpc.server import service_secrets
from runners.rpc.users import UsersServicer
from runners.settings import ConfigError, Settings


def call_policy(settings: Settings) -> CallPolicy:
    return CallPolicy(timeout=settings.grpc_timeout, attempts=settings.grpc_attempts)


def _client(settings: Settings, target: str, name: str, request_id: Callable[[], str | None] | None) -> RpcClient:
    if not target:
        raise ConfigError(f"{name} is required to call that service over gRPC")
    return RpcClient.to(target, service_secrets(settings)[0], call_policy(settings), request_id=request_id)


@asynccontextmanager
async def meetings_client(settings: Settings, request_id: Callable[[], str | None] | None = None,
                          ) -> AsyncIterator[RpcClient]:
    """One channel to the meetings service at APP_MEETINGS_GRPC_TARGET, for every adapter of it."""
    async with _client(settings, settings.meetings_grpc_target, "APP_MEETINGS_GRPC_TARGET", request_id) as client:
        yield client


@asynccontextmanager
async def remote_meeting_access(settings: Settings, request_id: Callable[[], str | None] | None = None,
                                ) -> AsyncIterator[GrpcMeetingAccess]:
    async with _client(settings, settings.meetings_grpc_target, "APP_MEETINGS_GRPC_TARGET", request_id) as client:
        yield GrpcMeetingAccess(client)


@asynccontextmanager
async def remote_users(settings: Settings, request_id: Callable[[], str | None] | None = None,
                       ) -> AsyncIterator[GrpcUsers]:
    """Both an Authenticator and a UserDirectory."""
    async with _client(settings, settings.users_grpc_target, "APP_USERS_GRPC_TARGET", request_id) as client:
        yield GrpcUsers(client)


def meetings_servicer(access: MeetingAccess, settings: Settings) -> MeetingAccessServicer:
    return MeetingAccessServicer(access, service_secrets(settings))


def users_servicer(authenticator: Authenticator, directory: UserDirectory, settings: Settings) -> UsersServicer:
    return UsersServicer(authenticator, directory, service_secrets(settings))
