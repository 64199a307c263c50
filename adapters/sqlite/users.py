"""UserRepository on SQLite (schema: migrations/0001_users.sql).

The writes are functions of a connection, so that a unit of work can run them in its transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

import aiosqlite

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.errors import translated
from adapters.sqlite.timeconv import from_us, to_us
from domain.shared.errors import AlreadyExists, ConcurrentModification, DomainError
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest
from domain.users.errors import EmailTaken, UserNotFound, UsernameTaken
from domain.users.model import Role, User

COLUMNS = ("id, username, email, password_hash, display_name, role, banned, security_version, created_at, updated_at,"
           " version, email_verified")
TAKEN: Mapping[str, Callable[[], DomainError]] = {
    "users_username_lower_key": lambda: UsernameTaken("username is taken", field="username"),
    "users.email": lambda: EmailTaken("email is taken", field="email"),
}
# instr, not LIKE: the query is a literal substring, so '%' and '_' must not act as wildcards.
MATCHES = ("(?1 = '' OR instr(py_lower(username), ?1) > 0 OR instr(email, ?1) > 0"
           " OR instr(py_lower(display_name), ?1) > 0)")


def user_values(user: User) -> tuple[Any, ...]:
    return (user.id, user.username, user.email, user.password_hash, user.display_name, user.role.value,
            int(user.banned), user.security_version, to_us(user.created_at), to_us(user.updated_at), user.version,
            int(user.email_verified))


def user_from_row(row: sqlite3.Row | tuple[Any, ...]) -> User:
    (id_, username, email, password_hash, display_name, role, banned, security_version, created, updated, version,
     email_verified) = row
    return User(id=UserId(id_), username=username, email=email, password_hash=password_hash,
                display_name=display_name, role=Role(role), banned=bool(banned), security_version=security_version,
                created_at=from_us(created), updated_at=from_us(updated), version=version,
                email_verified=bool(email_verified))


async def insert_user(conn: aiosqlite.Connection, user: User) -> None:
    try:
        await conn.execute(f"INSERT INTO users ({COLUMNS}) VALUES ({', '.join('?' * 12)})", user_values(user))
    except sqlite3.IntegrityError as exc:
        # SQLite checks the primary key after the other unique indexes: a taken id is reported first,
        # as the other adapters do, only by asking.
        async with conn.execute("SELECT 1 FROM users WHERE id = ?", (user.id,)) as cur:
            if await cur.fetchone() is not None:
                raise AlreadyExists("user exists", user_id=user.id) from exc
        with translated(TAKEN):
            raise


async def select_user(conn: aiosqlite.Connection, user_id: UserId) -> User:
    async with conn.execute(f"SELECT {COLUMNS} FROM users WHERE id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise UserNotFound("no such user", user_id=user_id)
    return user_from_row(row)


async def update_user(conn: aiosqlite.Connection, user: User) -> None:
    """Stores ``user`` if the stored version is still its version; does not touch ``user``."""
    with translated(TAKEN):
        cur = await conn.execute(
            "UPDATE users SET username = ?, email = ?, password_hash = ?, display_name = ?, role = ?, banned = ?,"
            " security_version = ?, created_at = ?, updated_at = ?, email_verified = ?, version = version + 1"
            " WHERE id = ? AND version = ?",
            (*user_values(user)[1:10], int(user.email_verified), user.id, user.version))
    if cur.rowcount == 0:
        async with conn.execute("SELECT 1 FROM users WHERE id = ?", (user.id,)) as found:
            if await found.fetchone() is None:
                raise UserNotFound("no such user", user_id=user.id)
        raise ConcurrentModification("the user was changed by someone else")


class SqliteUserRepository:
    """Usernames are unique through an index on lower(username); emails arrive lower-case already."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add(self, user: User) -> None:
        async with self._db.connection() as conn:
            await insert_user(conn, user)

    async def get(self, user_id: UserId) -> User:
        async with self._db.connection() as conn:
            return await select_user(conn, user_id)

    async def find_by_login(self, login: str) -> User | None:
        row = await self._one(f"SELECT {COLUMNS} FROM users WHERE lower(username) = ?1 OR email = ?1 LIMIT 1",
                              (login.strip().lower(),))
        return None if row is None else user_from_row(row)

    async def find_by_email(self, email: str) -> User | None:
        row = await self._one(f"SELECT {COLUMNS} FROM users WHERE email = ?", (email.strip().lower(),))
        return None if row is None else user_from_row(row)

    async def save(self, user: User) -> None:
        async with self._db.connection() as conn:
            await update_user(conn, user)
        user.version += 1

    async def search(self, query: str, page: PageRequest) -> Page[User]:
        q = query.lower()
        # Both statements under the database lock: the total agrees with the items.
        async with self._db.connection() as conn:
            async with conn.execute(f"SELECT count(*) FROM users WHERE {MATCHES}", (q,)) as cur:
                (total,) = await cur.fetchone()  # type: ignore[misc]
            async with conn.execute(
                    f"SELECT {COLUMNS} FROM users WHERE {MATCHES} ORDER BY created_at, id LIMIT ?3 OFFSET ?2",
                    (q, page.offset, page.limit)) as cur:
                rows = await cur.fetchall()
        return Page(items=tuple(map(user_from_row, rows)), total=total, offset=page.offset, limit=page.limit)

    async def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        async with self._db.connection() as conn:
            async with conn.execute(sql, args) as cur:
                return await cur.fetchone()
