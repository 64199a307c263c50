"""An integrator's own SessionStore (ports/users.py), written only against Confero's public ports.

It keeps sessions as JSON documents in a key-value server, the way a store on Memcached, DynamoDB or
an in-house cache would; ``KeyValue`` stands in for that server's client so the example runs alone.
"""

from __future__ import annotations

import datetime as dt
import json

from domain.shared.ids import UserId
from domain.users.tokens import Session


class KeyValue:
    """The server's client: get / put / delete of text values, and a scan by key prefix."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self._data.get(key)

    async def put(self, key: str, value: str) -> None:
        self._data[key] = value

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def keys(self, prefix: str) -> list[str]:
        return [k for k in self._data if k.startswith(prefix)]


def _dump(s: Session) -> str:
    return json.dumps({"id": s.id, "user_id": s.user_id, "refresh_token_id": s.refresh_token_id,
                       "created_at": s.created_at.isoformat(), "expires_at": s.expires_at.isoformat(),
                       "security_version": s.security_version})


def _load(text: str) -> Session:
    d = json.loads(text)
    return Session(id=d["id"], user_id=UserId(d["user_id"]), refresh_token_id=d["refresh_token_id"],
                   created_at=dt.datetime.fromisoformat(d["created_at"]),
                   expires_at=dt.datetime.fromisoformat(d["expires_at"]), security_version=d["security_version"])


class MySessionStore:
    """Keys: ``session:<id>`` (one document per session) and ``floor:<user>`` (the security version
    the user's sessions were last revoked at).  The key-value calls do not yield here, so each method
    is atomic, as the port asks; a real server would need its own compare-and-set."""

    def __init__(self, kv: KeyValue | None = None) -> None:
        self._kv = kv or KeyValue()

    async def create(self, session: Session) -> bool:
        if session.security_version < int(await self._kv.get(f"floor:{session.user_id}") or 0):
            return False  # a login that began before the user's sessions were revoked
        await self._kv.put(f"session:{session.id}", _dump(session))
        return True

    async def get(self, session_id: str, now: dt.datetime) -> Session | None:
        text = await self._kv.get(f"session:{session_id}")
        if text is None:
            return None
        session = _load(text)
        if session.expires_at <= now:
            await self.revoke(session_id)
            return None
        return session

    async def rotate(self, session_id: str, expected_refresh_id: str, new_refresh_id: str,
                     expires_at: dt.datetime, now: dt.datetime) -> bool:
        session = await self.get(session_id, now)
        if session is None or session.refresh_token_id != expected_refresh_id:
            return False
        rotated = Session(id=session.id, user_id=session.user_id, refresh_token_id=new_refresh_id,
                          created_at=session.created_at, expires_at=expires_at,
                          security_version=session.security_version)
        await self._kv.put(f"session:{session_id}", _dump(rotated))
        return True

    async def revoke(self, session_id: str) -> None:
        await self._kv.delete(f"session:{session_id}")

    async def revoke_user(self, user_id: UserId, security_version: int) -> int:
        floor = max(int(await self._kv.get(f"floor:{user_id}") or 0), security_version)
        await self._kv.put(f"floor:{user_id}", str(floor))
        ended = 0
        for key in await self._kv.keys("session:"):
            text = await self._kv.get(key)
            session = _load(text) if text is not None else None
            if session is not None and session.user_id == user_id and session.security_version < floor:
                await self._kv.delete(key)
                ended += 1
        return ended
