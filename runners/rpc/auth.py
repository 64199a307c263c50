"""Who is calling: a user's access token (``authorization: Bearer``) or another service's token
(``x-service-token``, one of APP_AI_SERVICE_TOKENS), checked once per call before the handler runs."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

from attrs import frozen
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from adapters.grpc.wire import service_token_ok
from domain.shared.actor import Actor
from domain.shared.errors import DomainError
from domain.shared.ids import UserId, is_valid_id
from domain.users.service import UserService
from runners.rpc.errors import to_grpc


@frozen
class Caller:
    actor: Actor | None  # None: a service, which names the user it acts for in each request
    service: bool = False


CALLER: ContextVar[Caller] = ContextVar("grpc_caller")


async def authenticate(metadata: Mapping[str, str] | None, users: UserService, service_tokens: tuple[str, ...]) -> Caller:
    metadata = metadata or {}
    service = service_token_ok(metadata, service_tokens)
    if service is not None:
        if service:
            return Caller(actor=None, service=True)
        raise GRPCError(Status.UNAUTHENTICATED, "invalid_service_token: unknown service token")
    scheme, _, bearer = str(metadata.get("authorization", "")).partition(" ")
    if scheme.lower() != "bearer" or not bearer.strip():
        raise GRPCError(Status.UNAUTHENTICATED,
                        "missing_credentials: send 'authorization: Bearer <access token>' or 'x-service-token'")
    try:
        principal = await users.authenticate(bearer.strip())
    except DomainError as err:
        raise to_grpc(err) from None
    return Caller(actor=principal.actor)


def acting(acting_user_id: str) -> Actor:
    """The actor of this call: the signed-in user, or the user a service names."""
    caller = CALLER.get()
    if caller.service:
        if not is_valid_id(acting_user_id):
            raise GRPCError(Status.INVALID_ARGUMENT, "invalid_request: a service call names acting_user_id")
        return Actor(UserId(acting_user_id))
    assert caller.actor is not None
    if acting_user_id and acting_user_id != caller.actor.user_id:
        raise GRPCError(Status.PERMISSION_DENIED, "not_allowed: users act for themselves only")
    return caller.actor
