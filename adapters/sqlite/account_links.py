"""One-time account links on SQLite (schema: migrations/0006_account_links.sql); the writes are
functions of a connection that a unit of work runs in its transaction."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.timeconv import from_us, from_us_or_none, to_us, to_us_or_none
from domain.shared.errors import AlreadyExists
from domain.shared.ids import UserId
from domain.users.errors import LinkInvalid
from domain.users.links import AccountLink, LinkPurpose

COLUMNS = "token_hash, purpose, user_id, email, security_version, created_at, expires_at, used_at"
Write = Callable[[aiosqlite.Connection], Awaitable[None]]


def link_from_row(row: Any) -> AccountLink:
    token_hash, purpose, user_id, email, security_version, created, expires, used = row
    return AccountLink(token_hash=token_hash, purpose=LinkPurpose(purpose), user_id=UserId(user_id), email=email,
                       security_version=security_version, created_at=from_us(created), expires_at=from_us(expires),
                       used_at=from_us_or_none(used))


async def insert_link(conn: aiosqlite.Connection, link: AccountLink) -> None:
    try:
        await conn.execute(f"INSERT INTO account_links ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (link.token_hash, link.purpose.value, link.user_id, link.email, link.security_version,
                            to_us(link.created_at), to_us(link.expires_at), to_us_or_none(link.used_at)))
    except sqlite3.IntegrityError as exc:
        raise AlreadyExists("link exists") from exc


async def consume_link(conn: aiosqlite.Connection, token_hash: str, now: dt.datetime) -> None:
    cur = await conn.execute("UPDATE account_links SET used_at = ?1"
                             " WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1", (to_us(now), token_hash))
    if cur.rowcount != 1:
        raise LinkInvalid("this link is invalid, expired or already used")


async def forget_expired(conn: aiosqlite.Connection, before: dt.datetime) -> None:
    await conn.execute("DELETE FROM account_links WHERE expires_at < ?", (to_us(before),))


class SqliteAccountLinkReader:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def find(self, token_hash: str) -> AccountLink | None:
        async with self._db.connection() as conn:
            async with conn.execute(f"SELECT {COLUMNS} FROM account_links WHERE token_hash = ?", (token_hash,)) as cur:
                row = await cur.fetchone()
        return link_from_row(row) if row is not None else None


class StagedLinks:
    """Account links seen through a unit (ports/account_links.py)."""

    def __init__(self, reader: SqliteAccountLinkReader, writes: list[Write]) -> None:
        self._reader = reader
        self._writes = writes
        self._added: dict[str, AccountLink] = {}

    async def add(self, link: AccountLink) -> None:
        self._added[link.token_hash] = link
        self._writes.append(lambda conn: insert_link(conn, link))

    async def find(self, token_hash: str) -> AccountLink | None:
        return self._added.get(token_hash) or await self._reader.find(token_hash)

    async def consume(self, token_hash: str, now: dt.datetime) -> None:
        self._writes.append(lambda conn: consume_link(conn, token_hash, now))

    async def forget_expired(self, before: dt.datetime) -> None:
        self._writes.append(lambda conn: forget_expired(conn, before))
