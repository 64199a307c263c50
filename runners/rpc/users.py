"""The users gRPC service (proto/users.proto): token and session checks and lookups by id, translated to
the Authenticator (the UserService) and the UserDirectory of this process."""

from __future__ import annotations

from domain.shared.ids import UserId
from domain.users.model import Role
from domain.users.tokens import Principal
from ports.users import Authenticator, UserDirectory, UserSummary
from proto.confero.users import v1 as pb
from runners.rpc.guard import ServiceGuard, invalid, valid_id

TOKEN_MAX = 8192
ROLES = {Role.USER: pb.Role.USER, Role.ADMIN: pb.Role.ADMIN}


def principal_pb(p: Principal) -> pb.Principal:
    return pb.Principal(user_id=p.user_id, role=ROLES[p.role], session_id=p.session_id, token_id=p.token_id,
                        expires_at=p.expires_at, security_version=p.security_version)


def summary_pb(u: UserSummary) -> pb.UserSummary:
    return pb.UserSummary(id=u.id, username=u.username, display_name=u.display_name, role=ROLES[u.role],
                          banned=u.banned)


class UsersServicer(ServiceGuard, pb.UsersServiceBase):
    def __init__(self, authenticator: Authenticator, directory: UserDirectory,
                 service_secrets: tuple[str, ...]) -> None:
        self._authenticator, self._directory = authenticator, directory
        self.service_secrets = service_secrets

    async def authenticate(self, authenticate_request: pb.AuthenticateRequest) -> pb.Principal:
        token = authenticate_request.access_token
        if len(token) > TOKEN_MAX:
            raise invalid(f"access_token is at most {TOKEN_MAX} characters")
        return principal_pb(await self._authenticator.authenticate(token))

    async def get_user(self, get_user_request: pb.GetUserRequest) -> pb.UserSummary:
        user_id = UserId(valid_id(get_user_request.user_id, "user_id"))
        return summary_pb(await self._directory.summary(user_id))
