"""Authenticator and UserDirectory (ports/users.py) over gRPC: the users service in another process, as
signaling and the gateway see it (proto/users.proto, served by runners/rpc/users.py)."""

from __future__ import annotations

from adapters.grpc.client import RpcClient
from domain.shared.errors import Unavailable
from domain.shared.ids import UserId
from domain.users.model import Role
from domain.users.tokens import Principal
from ports.users import UserSummary
from proto.confero.users import v1 as pb

SERVICE = "/confero.users.v1.UsersService"
AUTHENTICATE, GET_USER = f"{SERVICE}/Authenticate", f"{SERVICE}/GetUser"

ROLES = {Role.USER: pb.Role.USER, Role.ADMIN: pb.Role.ADMIN}


def role_from_pb(role: pb.Role | int) -> Role:
    for domain_role, wire in ROLES.items():
        if wire == role:
            return domain_role
    raise Unavailable("the users service sent an unknown role", reason="bad_reply")


class GrpcUsers:
    """Both calls only read, so both are retried (CallPolicy)."""

    def __init__(self, client: RpcClient) -> None:
        self._client = client

    async def authenticate(self, access_token: str) -> Principal:
        p = await self._client.unary(AUTHENTICATE, pb.AuthenticateRequest(access_token=access_token), pb.Principal,
                                     idempotent=True)
        return Principal(user_id=UserId(p.user_id), role=role_from_pb(p.role), session_id=p.session_id,
                         token_id=p.token_id, expires_at=p.expires_at, security_version=p.security_version)

    async def summary(self, user_id: UserId) -> UserSummary:
        u = await self._client.unary(GET_USER, pb.GetUserRequest(user_id=user_id), pb.UserSummary, idempotent=True)
        return UserSummary(id=UserId(u.id), username=u.username, display_name=u.display_name,
                           role=role_from_pb(u.role), banned=u.banned)
