"""The scripted session from the foundation issue, in plain HTTP against a running process."""

from __future__ import annotations

from typing import Any

import aiohttp


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def call(self, method: str, path: str, token: str | None = None, json: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(method, self.base + path, json=json, headers=headers) as r:
            body = await r.json() if r.content_type == "application/json" else None
            return r.status, body


async def scripted_session(api: Api, suffix: str) -> dict[str, Any]:
    """Returns what a later check (after a restart) needs: ids and credentials."""
    host = {"username": f"host{suffix}", "email": f"host{suffix}@example.com", "password": "correct horse 1"}
    guest = {"username": f"guest{suffix}", "email": f"guest{suffix}@example.com", "password": "correct horse 2"}
    for user in (host, guest):
        status, _ = await api.call("POST", "/api/v1/auth/register", json=user)
        assert status == 201
    status, h = await api.call("POST", "/api/v1/auth/login", json={"username": host["username"], "password": host["password"]})
    assert status == 200 and h["user"]["username"] == host["username"]
    status, g = await api.call("POST", "/api/v1/auth/login", json={"username": guest["email"], "password": guest["password"]})
    assert status == 200
    status, meeting = await api.call("POST", "/api/v1/meetings", h["access_token"],
                                     {"title": "Planning", "capacity": 5, "password": "s3cret"})
    assert status == 201 and meeting["has_password"] is True
    mid = meeting["id"]
    status, err = await api.call("POST", f"/api/v1/meetings/{mid}/join", g["access_token"], {"password": "nope"})
    assert (status, err["error"]["code"]) == (403, "wrong_meeting_password")
    status, joined = await api.call("POST", f"/api/v1/meetings/{mid}/join", g["access_token"], {"password": "s3cret"})
    assert status == 200 and joined["joined"] is True
    status, people = await api.call("GET", f"/api/v1/meetings/{mid}/participants", h["access_token"])
    assert status == 200 and [p["user_id"] for p in people["items"]] == [g["user"]["id"]]
    status, _ = await api.call("POST", f"/api/v1/meetings/{mid}/participants/{g['user']['id']}/kick", h["access_token"])
    assert status == 200
    status, err = await api.call("POST", f"/api/v1/meetings/{mid}/join", g["access_token"], {"password": "s3cret"})
    assert (status, err["error"]["code"]) == (403, "kicked_from_meeting")
    status, _ = await api.call("POST", "/api/v1/auth/logout", g["access_token"], {"refresh_token": g["refresh_token"]})
    assert status == 204
    status, err = await api.call("GET", "/api/v1/users/me", g["access_token"])
    assert status == 401 and err["error"]["code"] == "invalid_token"
    return {"host": host, "guest": guest, "meeting_id": mid, "guest_id": g["user"]["id"]}


async def check_session_survived(api: Api, facts: dict[str, Any]) -> dict[str, Any]:
    """After a restart: the host logs in and sees the meeting with its kicked guest, the guest logs in
    and is still refused.  Returns the host's tokens for further checks."""
    status, host = await api.call("POST", "/api/v1/auth/login",
                                  json={"username": facts["host"]["email"], "password": facts["host"]["password"]})
    assert status == 200
    status, meeting = await api.call("GET", f"/api/v1/meetings/{facts['meeting_id']}", host["access_token"])
    assert status == 200 and meeting["kicked_user_ids"] == [facts["guest_id"]]
    status, guest = await api.call("POST", "/api/v1/auth/login", json={
        "username": facts["guest"]["username"], "password": facts["guest"]["password"]})
    assert status == 200
    status, err = await api.call("POST", f"/api/v1/meetings/{facts['meeting_id']}/join",
                                 guest["access_token"], {"password": "s3cret"})
    assert (status, err["error"]["code"]) == (403, "kicked_from_meeting")
    return host
