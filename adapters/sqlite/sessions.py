"""SessionStore on SQLite (schema: migrations/0002_sessions.sql)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.timeconv import from_us, to_us
from domain.shared.ids import UserId
from domain.users.tokens import Session

COLUMNS = "id, user_id, refresh_token_id, created_at, expires_at"


def session_from_row(row: Any) -> Session:
    id_, user_id, refresh_token_id, created, expires = row
    return Session(id=id_, user_id=UserId(user_id), refresh_token_id=refresh_token_id,
                   created_at=from_us(created), expires_at=from_us(expires))


class SqliteSessionStore:
    """Expired sessions are deleted when ``get`` or ``rotate`` meets them (so ``revoke_user`` no longer
    counts them), and in bulk whenever a session is created."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def create(self, session: Session) -> None:
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (to_us(session.created_at),))
            await conn.execute(f"INSERT OR REPLACE INTO sessions ({COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                               (session.id, session.user_id, session.refresh_token_id,
                                to_us(session.created_at), to_us(session.expires_at)))

    async def get(self, session_id: str, now: dt.datetime) -> Session | None:
        async with self._db.connection() as conn:
            await conn.execute("DELETE FROM sessions WHERE id = ? AND expires_at <= ?", (session_id, to_us(now)))
            async with conn.execute(f"SELECT {COLUMNS} FROM sessions WHERE id = ?", (session_id,)) as cur:
                row = await cur.fetchone()
        return None if row is None else session_from_row(row)

    async def rotate(self, session_id: str, expected_refresh_id: str, new_refresh_id: str,
                     expires_at: dt.datetime, now: dt.datetime) -> bool:
        # One conditional UPDATE is the compare-and-set: of racing rotations exactly one matches.
        async with self._db.connection() as conn:
            await conn.execute("DELETE FROM sessions WHERE id = ? AND expires_at <= ?", (session_id, to_us(now)))
            cur = await conn.execute(
                "UPDATE sessions SET refresh_token_id = ?, expires_at = ? WHERE id = ? AND refresh_token_id = ?",
                (new_refresh_id, to_us(expires_at), session_id, expected_refresh_id))
            return cur.rowcount == 1

    async def revoke(self, session_id: str) -> None:
        async with self._db.connection() as conn:
            await conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    async def revoke_user(self, user_id: UserId) -> int:
        async with self._db.connection() as conn:
            cur = await conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            return cur.rowcount
