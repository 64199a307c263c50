"""One-time account links on PostgreSQL (schema: migrations/0008_account_links.sql).

Reads go to the pool; writes are ``LinkWrite``s a unit of work runs on its transaction's connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import asyncpg

from adapters.postgres.pool import acquire, affected
from domain.shared.errors import AlreadyExists
from domain.shared.ids import UserId
from domain.users.errors import LinkInvalid
from domain.users.links import AccountLink, LinkPurpose

COLUMNS = "token_hash, purpose, user_id, email, security_version, created_at, expires_at, used_at"


def link_from_row(row: asyncpg.Record) -> AccountLink:
    return AccountLink(token_hash=row["token_hash"], purpose=LinkPurpose(row["purpose"]),
                       user_id=UserId(row["user_id"]), email=row["email"],
                       security_version=row["security_version"], created_at=row["created_at"],
                       expires_at=row["expires_at"], used_at=row["used_at"])


class LinkWrite:
    """A write of the unit, run inside its transaction."""

    def __init__(self, run: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        self.run = run


async def insert_link(conn: asyncpg.Connection, link: AccountLink) -> None:
    try:
        await conn.execute(f"INSERT INTO account_links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                           link.token_hash, link.purpose.value, link.user_id, link.email, link.security_version,
                           link.created_at, link.expires_at, link.used_at)
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists("link exists") from exc


async def consume_link(conn: asyncpg.Connection, token_hash: str, now: dt.datetime) -> None:
    # Of two transactions updating the row, the second waits for the first and then re-reads the row
    # (READ COMMITTED): it finds used_at set and updates nothing.
    status = await conn.execute("UPDATE account_links SET used_at = $2"
                                " WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2", token_hash, now)
    if affected(status) != 1:
        raise LinkInvalid("this link is invalid, expired or already used")


async def forget_expired(conn: asyncpg.Connection, before: dt.datetime) -> None:
    await conn.execute("DELETE FROM account_links WHERE expires_at < $1", before)


class PostgresAccountLinkReader:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    async def find(self, token_hash: str) -> AccountLink | None:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(f"SELECT {COLUMNS} FROM account_links WHERE token_hash = $1", token_hash)
        return link_from_row(row) if row is not None else None


class StagedLinks:
    """Account links seen through a unit (ports/account_links.py)."""

    def __init__(self, reader: PostgresAccountLinkReader, writes: list[object]) -> None:
        self._reader = reader
        self._writes = writes
        self._added: dict[str, AccountLink] = {}

    async def add(self, link: AccountLink) -> None:
        self._added[link.token_hash] = link
        self._writes.append(LinkWrite(lambda conn: insert_link(conn, link)))

    async def find(self, token_hash: str) -> AccountLink | None:
        return self._added.get(token_hash) or await self._reader.find(token_hash)

    async def consume(self, token_hash: str, now: dt.datetime) -> None:
        self._writes.append(LinkWrite(lambda conn: consume_link(conn, token_hash, now)))

    async def forget_expired(self, before: dt.datetime) -> None:
        self._writes.append(LinkWrite(lambda conn: forget_expired(conn, before)))
