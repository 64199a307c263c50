"""UserRepository on PostgreSQL (schema: migrations/0001_users.sql, 0010_user_security.sql)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import asyncpg

from adapters.postgres.pool import acquire, affected
from domain.shared.errors import AlreadyExists, ConcurrentModification, DomainError
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest
from domain.users.errors import EmailTaken, UserNotFound, UsernameTaken
from domain.users.model import Role, User

COLUMNS = ("id, username, email, password_hash, display_name, role, banned, created_at, updated_at, version,"
           " security_version, email_verified")
TAKEN: Mapping[str, Callable[[], DomainError]] = {
    "users_username_lower_key": lambda: UsernameTaken("username is taken", field="username"),
    "users_email_key": lambda: EmailTaken("email is taken", field="email"),
}
# strpos, not LIKE: the query is a literal substring, so '%' and '_' must not act as wildcards.
MATCHES = ("($1 = '' OR strpos(lower(username), $1) > 0 OR strpos(email, $1) > 0"
           " OR strpos(lower(display_name), $1) > 0)")


def user_from_row(row: asyncpg.Record) -> User:
    return User(id=row["id"], username=row["username"], email=row["email"], password_hash=row["password_hash"],
                display_name=row["display_name"], role=Role(row["role"]), banned=row["banned"],
                created_at=row["created_at"], updated_at=row["updated_at"], version=row["version"],
                security_version=row["security_version"], email_verified=row["email_verified"])


class PostgresUserRepository:
    """Usernames are unique through an index on lower(username); emails arrive lower-case already."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    async def add(self, user: User) -> None:
        taken = {**TAKEN, "users_pkey": lambda: AlreadyExists("user exists", user_id=user.id)}
        async with acquire(self._pool, self._timeout, taken) as conn:
            await conn.execute(
                f"INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                user.id, user.username, user.email, user.password_hash, user.display_name, user.role.value,
                user.banned, user.created_at, user.updated_at, user.version, user.security_version,
                user.email_verified)

    async def get(self, user_id: UserId) -> User:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(f"SELECT {COLUMNS} FROM users WHERE id = $1", user_id)
        if row is None:
            raise UserNotFound("no such user", user_id=user_id)
        return user_from_row(row)

    async def find_by_login(self, login: str) -> User | None:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM users WHERE lower(username) = $1 OR email = $1 LIMIT 1",
                login.strip().lower())
        return None if row is None else user_from_row(row)

    async def find_by_email(self, email: str) -> User | None:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(f"SELECT {COLUMNS} FROM users WHERE email = $1", email.strip().lower())
        return None if row is None else user_from_row(row)

    async def save(self, user: User) -> None:
        async with acquire(self._pool, self._timeout, TAKEN) as conn:
            status = await conn.execute(
                "UPDATE users SET username = $3, email = $4, password_hash = $5, display_name = $6, role = $7,"
                " banned = $8, created_at = $9, updated_at = $10, security_version = $11, email_verified = $12,"
                " version = version + 1 WHERE id = $1 AND version = $2",
                user.id, user.version, user.username, user.email, user.password_hash, user.display_name,
                user.role.value, user.banned, user.created_at, user.updated_at, user.security_version,
                user.email_verified)
            if not affected(status):
                if await conn.fetchval("SELECT 1 FROM users WHERE id = $1", user.id) is None:
                    raise UserNotFound("no such user", user_id=user.id)
                raise ConcurrentModification("the user was changed by someone else")
        user.version += 1

    async def search(self, query: str, page: PageRequest) -> Page[User]:
        q = query.lower()
        async with acquire(self._pool, self._timeout) as conn:
            # One snapshot for both statements, so the total agrees with the items.
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                total = await conn.fetchval(f"SELECT count(*) FROM users WHERE {MATCHES}", q)
                rows = await conn.fetch(
                    f"SELECT {COLUMNS} FROM users WHERE {MATCHES} ORDER BY created_at, id OFFSET $2 LIMIT $3",
                    q, page.offset, page.limit)
        return Page(items=tuple(map(user_from_row, rows)), total=total, offset=page.offset, limit=page.limit)
