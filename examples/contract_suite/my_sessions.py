"""An integrator's own SessionStore (ports/users.py), written only against Confero's public ports.

A dict keeps the example short; a real one would talk to its server here.
"""

from __future__ import annotations

import datetime as dt

from attrs import evolve

from domain.shared.ids import UserId
from domain.users.tokens import Session


class MySessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._floors: dict[UserId, int] = {}  # the security version each user was last revoked at

    async def create(self, session: Session) -> bool:
        if session.security_version < self._floors.get(session.user_id, 0):
            return False  # a login that began before the user's sessions were revoked
        self._sessions[session.id] = session
        return True

    async def get(self, session_id: str, now: dt.datetime) -> Session | None:
        session = self._sessions.get(session_id)
        if session is not None and session.expires_at <= now:
            del self._sessions[session_id]  # found expired: gone for good, and not counted later
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

    async def revoke_user(self, user_id: UserId, security_version: int) -> int:
        floor = self._floors[user_id] = max(self._floors.get(user_id, 0), security_version)
        mine = [sid for sid, s in self._sessions.items() if s.user_id == user_id and s.security_version < floor]
        for sid in mine:
            del self._sessions[sid]
        return len(mine)
