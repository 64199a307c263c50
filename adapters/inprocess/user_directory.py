"""The UserDirectory over this process's user repository (a gRPC client takes its place when the
services split: adapters/grpc/users.py)."""

from __future__ import annotations

from domain.shared.ids import UserId
from ports.users import UserRepository, UserSummary


class RepositoryUserDirectory:
    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def summary(self, user_id: UserId) -> UserSummary:
        return UserSummary.of(await self._users.get(user_id))
