"""The HTTP API as the desktop client uses it: sign in (and up), list, create and read meetings."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from attrs import define, evolve, field, frozen


class ApiError(Exception):
    """A non-2xx answer: the API's JSON error body ``{"error": {"code", "message", ...}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@frozen
class Account:
    user_id: str
    username: str
    display_name: str
    access_token: str
    refresh_token: str
    expires_at: float  # time.monotonic() when the access token expires


@frozen
class MeetingSummary:
    id: str
    title: str
    status: str
    start_time: str
    has_password: bool
    your_role: str | None

    @classmethod
    def from_json(cls, m: dict[str, Any]) -> MeetingSummary:
        return cls(id=m["id"], title=m["title"], status=m["status"], start_time=m["start_time"],
                   has_password=m["has_password"], your_role=m.get("your_role"))


@define
class ApiClient:
    """One server (``base`` = ``http://host:port``); ``account`` once signed in."""

    base: str
    session: aiohttp.ClientSession
    account: Account | None = None
    renew_at: float = 0.8  # share of the access token's lifetime after which it is renewed
    _renewing: asyncio.Lock = field(factory=asyncio.Lock)
    _lifetime: float = 0.0

    @property
    def signaling_url(self) -> str:
        scheme, rest = self.base.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}/ws/signaling"

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        if self.account is not None and not path.startswith("/api/v1/auth/") and self.renew_due() <= 0:
            await self.renew()
        headers = {"Authorization": f"Bearer {self.account.access_token}"} if self.account else {}
        async with self.session.request(method, self.base.rstrip("/") + path, headers=headers, **kw) as r:
            body = await r.json() if r.content_type == "application/json" else None
            if r.status >= 400:
                error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
                raise ApiError(r.status, error.get("code", "http_error"), error.get("message", r.reason or ""))
            return body

    async def register(self, username: str, email: str, password: str) -> None:
        await self._call("POST", "/api/v1/auth/register",
                         json={"username": username, "email": email, "password": password})

    async def sign_in(self, username: str, password: str) -> Account:
        tokens = await self._call("POST", "/api/v1/auth/login", json={"username": username, "password": password})
        user = tokens["user"]
        self.account = Account(user_id=user["id"], username=user["username"],
                               display_name=user.get("display_name") or user["username"],
                               access_token=tokens["access_token"], refresh_token=tokens["refresh_token"],
                               expires_at=time.monotonic() + tokens["expires_in"])
        self._lifetime = tokens["expires_in"]
        return self.account

    def renew_due(self) -> float:
        """Seconds until the access token should be renewed (``renew_at`` of its lifetime)."""
        assert self.account is not None
        return self.account.expires_at - (1 - self.renew_at) * self._lifetime - time.monotonic()

    async def renew(self) -> Account:
        """A new token pair (``POST /auth/refresh``), once even when asked concurrently: refresh tokens
        rotate, and presenting a used one again revokes the session."""
        async with self._renewing:
            assert self.account is not None
            if self.renew_due() > 0:  # someone else renewed it meanwhile
                return self.account
            tokens = await self._call("POST", "/api/v1/auth/refresh",
                                      json={"refresh_token": self.account.refresh_token})
            self.account = evolve(self.account, access_token=tokens["access_token"],
                                  refresh_token=tokens["refresh_token"],
                                  expires_at=time.monotonic() + tokens["expires_in"])
            self._lifetime = tokens["expires_in"]
            return self.account

    async def sign_out(self) -> None:
        if self.account is not None:
            try:
                await self._call("POST", "/api/v1/auth/logout")
            finally:
                self.account = None

    async def meetings(self, when: str = "upcoming") -> list[MeetingSummary]:
        """My meetings (hosted, invited, joined); ``when`` is upcoming, past or all."""
        page = await self._call("GET", "/api/v1/meetings", params={"relation": "all", "when": when, "limit": "100"})
        return [MeetingSummary.from_json(m) for m in page["items"]]

    async def meeting(self, meeting_id: str) -> MeetingSummary:
        return MeetingSummary.from_json(await self._call("GET", f"/api/v1/meetings/{meeting_id}"))

    async def create_meeting(self, title: str) -> MeetingSummary:
        return MeetingSummary.from_json(await self._call("POST", "/api/v1/meetings", json={"title": title}))
