"""The remote adapters a service process composes instead of in-process domains (issue 14, docs/grpc.md).

A process that does not serve a service itself calls it over gRPC when its target is set:

- ``APP_MEETINGS_GRPC_TARGET``: the rooms' MeetingAccess (who may join, roles) is GrpcMeetingAccess;
- ``APP_USERS_GRPC_TARGET``: access tokens of HTTP requests and signaling sockets are checked by GrpcUsers
  (the Authenticator port).

A process that serves the service (the all-in-one, ``runners.users`` for tokens, ``runners.meetings`` for
admissions) keeps its own domain whatever the targets say.  Calls carry the request id of the HTTP request
or signaling socket they serve.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from dependency_injector import providers

from ports.users import Authenticator
from runners.containers import Application
from runners.rpc.clients import remote_meeting_access, remote_users
from runners.settings import Settings
from runners.web.logs import request_id_var


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
        if settings.meetings_grpc_target and not serves(tags, "meetings"):
            access = await stack.enter_async_context(remote_meeting_access(settings, _request_id))
            stack.enter_context(container.meeting_access.override(providers.Object(access)))
        if settings.users_grpc_target and not serves(tags, "auth"):
            authenticator = await stack.enter_async_context(remote_users(settings, _request_id))
        yield authenticator
