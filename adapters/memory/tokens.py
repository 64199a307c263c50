from __future__ import annotations

import datetime as dt

from attrs import evolve

from domain.shared.ids import UserId
from domain.users.tokens import Session


class InMemorySessionStore:
    """SessionStore in a dict; revoked and expired sessions are dropped, like keys with a TTL."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    async def create(self, session: Session) -> None:
        self._sessions[session.id] = session

    async def get(self, session_id: str, now: dt.datetime) -> Session | None:
        session = self._sessions.get(session_id)
        if session is not None and session.expires_at <= now:
            del self._sessions[session_id]
            return None
        return session

    async def rotate(self, session_id: str, expected_refresh_id: str, new_refresh_id: str,
                     expires_at: dt.datetime, now: dt.datetime) -> bool:
        session = await self.get(session_id, now)
        if session is None or session.refresh_token_id != expected_refresh_id:
            return False
        self._sessions[session_id] = evolve(session, refresh_token_id=new_refresh_id, expires_at=expires_at)
        return True

    async def revoke(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    async def revoke_user(self, user_id: UserId) -> int:
        doomed = [sid for sid, s in self._sessions.items() if s.user_id == user_id]
        for sid in doomed:
            del self._sessions[sid]
        return len(doomed)


class InMemoryTokenDenylist:
    def __init__(self) -> None:
        self._until: dict[str, dt.datetime] = {}

    async def deny(self, token_id: str, until: dt.datetime, now: dt.datetime) -> None:
        self._forget_expired(now)
        if until > now:
            self._until[token_id] = until

    async def is_denied(self, token_id: str, now: dt.datetime) -> bool:
        until = self._until.get(token_id)
        return until is not None and until > now

    def _forget_expired(self, now: dt.datetime) -> None:
        if len(self._until) > 1024:
            for tid in [t for t, u in self._until.items() if u <= now]:
                del self._until[tid]
