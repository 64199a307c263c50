"""SessionStore on SQLite (schema: migrations/0002_sessions.sql)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.timeconv import from_us, to_us
from domain.shared.ids import UserId
from domain.users.tokens import Session

COLUMNS = "id, user_id, refresh_token_id, created_at, expires_at, security_version"


def session_from_row(row: Any) -> Session:
    id_, user_id, refresh_token_id, created, expires, security_version = row
    return Session(id=id_, user_id=UserId(user_id), refresh_token_id=refresh_token_id,
                   created_at=from_us(created), expires_at=from_us(expires), security_version=security_version)


class SqliteSessionStore:
    """Expired sessions are deleted when ``get`` or ``rotate`` meets them (so ``revoke_user`` no longer
    counts them), and in bulk whenever a session is created."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def create(self, session: Session) -> bool:
        # The floor check and the insert in one transaction: a revocation cannot fall between them.
        async with self._db.transaction() as conn:
            async with conn.execute("SELECT floor FROM session_floors WHERE user_id = ?", (session.user_id,)) as cur:
                floor = await cur.fetchone()
            if floor is not None and session.security_version < floor[0]:
                return False
            await conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (to_us(session.created_at),))
            await conn.execute(f"INSERT OR REPLACE INTO sessions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                               (session.id, session.user_id, session.refresh_token_id, to_us(session.created_at),
                                to_us(session.expires_at), session.security_version))
        return True

    async def get(self, session_id: str, now: dt.datetime) -> Session | None:
        # A read on every authenticated request; the write happens only when the session is found expired
        # (it is then gone for good, as the port says).
        async with self._db.connection() as conn:
            async with conn.execute(f"SELECT {COLUMNS} FROM sessions WHERE id = ?", (session_id,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            session = session_from_row(row)
            if session.expires_at <= now:
                await conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
                return None
        return session

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

    async def revoke_user(self, user_id: UserId, security_version: int) -> int:
        async with self._db.transaction() as conn:
            await conn.execute("INSERT INTO session_floors (user_id, floor) VALUES (?1, ?2) ON CONFLICT (user_id)"
                               " DO UPDATE SET floor = max(floor, ?2)", (user_id, security_version))
            cur = await conn.execute(
                "DELETE FROM sessions WHERE user_id = ? AND security_version"
                " < (SELECT floor FROM session_floors WHERE user_id = ?)", (user_id, user_id))
            return cur.rowcount
