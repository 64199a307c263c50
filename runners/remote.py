"""The remote adapters a service process composes instead of in-process domains (issue 14, docs/grpc.md).

A process that does not serve a service itself calls it over gRPC when its target is set:

- ``APP_MEETINGS_GRPC_TARGET``: the rooms' MeetingAccess (who may join, roles) is GrpcMeetingAccess; what a
  joining member is told about a running recording (RecordingStatus) and captions (CaptionedMeetings)
  comes from the meetings service too (adapters/grpc/meeting_state.py);
- ``APP_USERS_GRPC_TARGET``: access tokens of HTTP requests and signaling sockets are checked by GrpcUsers
  (the Authenticator port), and display names (the UserDirectory of captions) come from it.

With both, a signaling process reads no database: it may run without APP_POSTGRES_DSN
(runners/production.py's RemoteDataAdapters).

A process that serves the service (the all-in-one, ``runners.users`` for tokens, ``runners.meetings`` for
admissions) keeps its own domain whatever the targets say.  A target of ``etcd`` means the service's
instances as the registry lists them (APP_ETCD_URL), each call to one of them in turn (round robin over the
instances that serve gRPC and are not draining).  Calls carry the request id of the HTTP request
or signaling socket they serve.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from dependency_injector import providers

from adapters.grpc.balanced import BalancedRpcClient
from adapters.grpc.meeting_access import GrpcMeetingAccess
from adapters.grpc.meeting_state import GrpcCaptionedMeetings, GrpcRecordingStatus
from adapters.grpc.users import GrpcUsers
from ports.discovery import ServiceRegistry
from ports.rooms import MeetingAccess
from ports.users import Authenticator
from runners.containers import Application
from runners.rpc.clients import call_policy, meetings_client, remote_users
from runners.rpc.server import service_secrets
from runners.settings import AdapterFamily, Settings
from runners.web.logs import request_id_var


DISCOVERED = "etcd"  # a target that means: the service's instances in the registry (APP_ETCD_URL)


def without_database(settings: Settings) -> bool:
    """A production process given no APP_POSTGRES_DSN: one that reads the users and meetings services over
    gRPC instead (settings.py refuses it otherwise), such as a signaling process (RemoteDataAdapters)."""
    return settings.adapters is AdapterFamily.PRODUCTION and not settings.postgres_dsn


def serves(tags: set[str] | None, tag: str) -> bool:
    """Whether a process serving the route ``tags`` (None: every route, the all-in-one) holds ``tag``."""
    return tags is None or tag in tags


def _request_id() -> str | None:
    return request_id_var.get()


@asynccontextmanager
async def remote_parts(container: Application, settings: Settings,
                       tags: set[str] | None) -> AsyncIterator[Authenticator | None]:
    """Overrides the container's MeetingAccess with the meetings service's, and yields the users service's
    Authenticator (None: tokens are checked in process), for as long as the block runs."""
    async with AsyncExitStack() as stack:
        authenticator: Authenticator | None = None
        discovered = _Discovered(settings, stack)
        if settings.meetings_grpc_target and not serves(tags, "meetings"):
            if settings.meetings_grpc_target == DISCOVERED:
                meetings = await discovered.client("meetings")
            else:
                meetings = await stack.enter_async_context(meetings_client(settings, _request_id))
            access: MeetingAccess = GrpcMeetingAccess(meetings)
            stack.enter_context(container.meeting_access.override(providers.Object(access)))
            stack.enter_context(container.recording_status.override(providers.Object(GrpcRecordingStatus(meetings))))
            stack.enter_context(container.captioned_meetings.override(
                providers.Object(GrpcCaptionedMeetings(meetings))))
        if settings.users_grpc_target and not serves(tags, "auth"):
            if settings.users_grpc_target == DISCOVERED:
                users = GrpcUsers(await discovered.client("users"))
            else:
                users = await stack.enter_async_context(remote_users(settings, _request_id))
            authenticator = users
            stack.enter_context(container.user_directory.override(providers.Object(users)))
        yield authenticator


class _Discovered:
    """Clients balanced over the instances the registry lists (one etcd connection for all of them)."""

    def __init__(self, settings: Settings, stack: AsyncExitStack) -> None:
        self.settings, self.stack = settings, stack
        self.registry: ServiceRegistry | None = None

    async def client(self, service: str) -> Any:
        from adapters.etcd.client import open_etcd
        from adapters.etcd.discovery import EtcdServiceRegistry

        if self.registry is None:
            client = await self.stack.enter_async_context(open_etcd(self.settings.etcd_url))
            self.registry = EtcdServiceRegistry(client, prefix=self.settings.etcd_prefix)
        client = BalancedRpcClient(self.registry, service, service_secrets(self.settings)[0],
                                   call_policy(self.settings), request_id=_request_id)
        self.stack.callback(client.close)
        follower = asyncio.get_running_loop().create_task(client.follow(), name=f"discovery-{service}")
        self.stack.push_async_callback(_cancelled, follower)
        return client


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
