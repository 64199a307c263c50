"""Bad input of every kind gets a 4xx JSON error, never a 500, and never changes anything.

Each case runs on a fresh world (an admin, a host with a meeting that ``guest`` has joined, and
``guest``), snapshots everything a client can see (every user as the admin sees them, every meeting as
its host sees it, who is in the meeting), sends the bad request and demands the same snapshot after.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from attrs import frozen

from tests.unit.web_support import API, PASSWORD, Caller, WebApi, WebFactory, web, web_factory  # noqa: F401  (fixtures)

MAX_BODY = 4096
UNKNOWN_ID = "8f1c2a4e-0b7d-4c55-9a1e-3d2f6b7c8e90"
_MISSING: Any = object()


@frozen
class World:
    admin: Caller
    host: Caller
    guest: Caller
    meeting: str

    def fill(self, path: str) -> str:
        return path.format(meeting=self.meeting, host=self.host.id, guest=self.guest.id, admin=self.admin.id,
                           unknown=UNKNOWN_ID)


async def build_world(web: WebApi) -> World:
    admin, host, guest = await web.admin(), await web.user("host"), await web.user("guest")
    meeting = (await web.meeting(host, title="Board", password="door-code", capacity=5))["id"]
    await web.join(host, meeting)
    await web.join(guest, meeting, password="door-code")
    return World(admin, host, guest, meeting)


async def snapshot(web: WebApi, w: World) -> dict[str, Any]:
    """Everything a client could observe changing."""
    meetings = await web.ok("GET", f"{API}/meetings", who=w.host, params={"when": "all", "limit": "100"})
    return {"users": await web.users_page(w.admin),
            "meetings": meetings,
            "people": await web.ok("GET", f"{API}/meetings/{w.meeting}/participants", who=w.host)}


@frozen
class Bad:
    name: str
    method: str
    path: str
    status: int
    code: str
    json: Any = _MISSING
    data: bytes | str | None = None
    headers: dict[str, str] = {}
    who: str | None = "host"


REGISTER = f"{API}/auth/register"
MEETINGS = f"{API}/meetings"
MEETING = f"{API}/meetings/{{meeting}}"
GOOD_USER = {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD}
JSON = {"Content-Type": "application/json"}


def too_big(extra: dict[str, Any]) -> str:
    return json.dumps(extra | {"description": "x" * (MAX_BODY + 100)})


CASES = [
    # malformed bodies
    Bad("malformed json", "POST", REGISTER, 400, "malformed_json", data='{"username": "newbie",', headers=JSON),
    Bad("malformed json on update", "PUT", MEETING, 400, "malformed_json", data="{title: 'x'}", headers=JSON),
    Bad("invalid utf-8", "POST", MEETINGS, 400, "malformed_json", data=b'{"title": "\xff\xfe"}', headers=JSON),
    Bad("deeply nested json", "POST", MEETINGS, 400, "malformed_json", data="[" * 2000 + "]" * 2000,
        headers=JSON),
    Bad("missing body", "POST", REGISTER, 400, "missing_body", data=b"", headers=JSON),
    Bad("json array", "POST", REGISTER, 422, "invalid_request", json=[GOOD_USER]),
    Bad("json string", "POST", MEETINGS, 422, "invalid_request", json="Weekly sync"),
    Bad("json number", "PUT", MEETING, 422, "invalid_request", json=42),
    Bad("json null", "POST", f"{MEETING}/transfer-host", 422, "invalid_request", data="null", headers=JSON),
    # missing, wrongly typed and unknown fields
    Bad("missing password", "POST", REGISTER, 422, "invalid_request", json={"username": "newbie",
                                                                            "email": "newbie@example.com"}),
    Bad("missing title", "POST", MEETINGS, 422, "invalid_request", json={"capacity": 10}),
    Bad("missing refresh token", "POST", f"{API}/auth/refresh", 422, "invalid_request", json={}),
    Bad("capacity as text", "POST", MEETINGS, 422, "invalid_request", json={"title": "T", "capacity": "ten"}),
    Bad("capacity as boolean", "POST", MEETINGS, 422, "invalid_request", json={"title": "T", "capacity": True}),
    Bad("duration as fraction", "POST", MEETINGS, 422, "invalid_request",
        json={"title": "T", "duration_minutes": 1.5}),
    Bad("setting as text", "POST", MEETINGS, 422, "invalid_request",
        json={"title": "T", "settings": {"mute_on_join": "yes"}}),
    Bad("title as number", "PUT", MEETING, 422, "invalid_request", json={"title": 7}),
    Bad("capacity as boolean on update", "PUT", MEETING, 422, "invalid_request", json={"capacity": True}),
    Bad("username as number", "PUT", f"{API}/users/{{host}}", 422, "invalid_request", json={"username": 12345}),
    Bad("unknown field on register", "POST", REGISTER, 422, "invalid_request", json=GOOD_USER | {"role": "admin"}),
    Bad("unknown field on meeting", "PUT", MEETING, 422, "invalid_request", json={"host_id": "{guest}"}),
    Bad("unknown setting", "POST", MEETINGS, 422, "invalid_request",
        json={"title": "T", "settings": {"record_everything": True}}),
    Bad("unknown field on profile", "PUT", f"{API}/users/{{host}}", 422, "invalid_request", json={"banned": True}),
    Bad("empty update", "PUT", MEETING, 422, "invalid_request", json={}),
    Bad("empty profile update", "PUT", f"{API}/users/{{host}}", 422, "invalid_request", json={}),
    Bad("unknown role", "PUT", f"{API}/admin/users/{{guest}}/role", 422, "invalid_request",
        json={"role": "superuser"}, who="admin"),
    Bad("invite by nothing", "POST", f"{MEETING}/invitations", 422, "invalid_request", json={}),
    Bad("invite by both", "POST", f"{MEETING}/invitations", 422, "invalid_request",
        json={"user_id": "{guest}", "email": "x@example.com"}),
    Bad("invite a malformed id", "POST", f"{MEETING}/invitations", 422, "invalid_request", json={"user_id": "42"}),
    Bad("transfer to a malformed id", "POST", f"{MEETING}/transfer-host", 422, "invalid_request",
        json={"user_id": "guest"}),
    # size and type of the body
    Bad("oversized register", "POST", REGISTER, 413, "body_too_large", data=too_big(GOOD_USER), headers=JSON),
    Bad("oversized meeting", "POST", MEETINGS, 413, "body_too_large", data=too_big({"title": "T"}), headers=JSON),
    Bad("oversized update", "PUT", MEETING, 413, "body_too_large", data=too_big({}), headers=JSON),
    Bad("text/plain body", "POST", REGISTER, 415, "unsupported_media_type", data=json.dumps(GOOD_USER),
        headers={"Content-Type": "text/plain"}),
    Bad("form body", "POST", MEETINGS, 415, "unsupported_media_type", data="title=T",
        headers={"Content-Type": "application/x-www-form-urlencoded"}),
    # ids in paths and unknown things
    Bad("malformed meeting id", "GET", f"{API}/meetings/123", 404, "malformed_id"),
    Bad("upper-case meeting id", "PUT", f"{API}/meetings/{UNKNOWN_ID.upper()}", 404, "malformed_id",
        json={"title": "T"}),
    Bad("malformed user id", "GET", f"{API}/users/not-a-uuid", 404, "malformed_id"),
    Bad("malformed user id on update", "PUT", f"{API}/users/xyz", 404, "malformed_id", json={"display_name": "X"}),
    Bad("malformed kick target", "POST", f"{MEETING}/participants/guest/kick", 404, "malformed_id"),
    Bad("malformed ban target", "POST", f"{API}/admin/users/1/ban", 404, "malformed_id", who="admin"),
    Bad("unknown meeting", "GET", f"{API}/meetings/{{unknown}}", 404, "meeting_not_found"),
    Bad("join an unknown meeting", "POST", f"{API}/meetings/{{unknown}}/join", 404, "meeting_not_found"),
    Bad("update an unknown meeting", "PUT", f"{API}/meetings/{{unknown}}", 404, "meeting_not_found",
        json={"title": "T"}),
    Bad("delete an unknown meeting", "DELETE", f"{API}/meetings/{{unknown}}", 404, "meeting_not_found"),
    Bad("unknown user", "GET", f"{API}/users/{{unknown}}", 404, "user_not_found"),
    Bad("ban an unknown user", "POST", f"{API}/admin/users/{{unknown}}/ban", 404, "user_not_found", who="admin"),
    Bad("promote an unknown user", "POST", f"{MEETING}/cohosts/{{unknown}}", 404, "user_not_found"),
    Bad("transfer to an unknown user", "POST", f"{MEETING}/transfer-host", 404, "user_not_found",
        json={"user_id": "{unknown}"}),
    Bad("invite an unknown user", "POST", f"{MEETING}/invitations", 404, "user_not_found",
        json={"user_id": "{unknown}"}),
    Bad("kick an unknown user", "POST", f"{MEETING}/participants/{{unknown}}/kick", 404, "user_not_found"),
    Bad("unknown route", "GET", f"{API}/nothing-here", 404, "not_found"),
    Bad("unknown version", "GET", "/api/v2/users/me", 404, "not_found"),
    Bad("unknown sub-resource", "POST", f"{MEETING}/explode", 404, "not_found"),
    Bad("wrong method", "DELETE", f"{API}/users/me", 405, "method_not_allowed"),
    Bad("wrong method on a collection", "PATCH", MEETINGS, 405, "method_not_allowed", json={"title": "T"}),
    # query parameters
    Bad("limit zero", "GET", f"{MEETINGS}?limit=0", 422, "invalid_request"),
    Bad("limit text", "GET", f"{MEETINGS}?limit=abc", 422, "invalid_request"),
    Bad("limit too big", "GET", f"{MEETINGS}?limit=101", 422, "invalid_request"),
    Bad("negative offset", "GET", f"{MEETINGS}?offset=-1", 422, "invalid_request"),
    Bad("unknown relation", "GET", f"{MEETINGS}?relation=nope", 422, "invalid_request"),
    Bad("unknown when", "GET", f"{MEETINGS}?when=soon", 422, "invalid_request"),
    Bad("admin limit text", "GET", f"{API}/admin/users?limit=abc", 422, "invalid_request", who="admin"),
    # times
    Bad("date-time in words", "POST", MEETINGS, 422, "invalid_request", json={"title": "T", "start_time": "tomorrow"}),
    Bad("date-time without zone", "POST", MEETINGS, 422, "invalid_request",
        json={"title": "T", "start_time": "2031-01-01T10:00:00"}),
    Bad("date-time with month 13", "PUT", MEETING, 422, "invalid_request", json={"start_time": "2031-13-01T10:00:00Z"}),
    Bad("date-time before year 1 in UTC", "POST", MEETINGS, 422, "invalid_request",
        json={"title": "T", "start_time": "0001-01-01T00:30:00+01:00"}),
    Bad("meeting ending after year 9999", "POST", MEETINGS, 422, "invalid_meeting_data",
        json={"title": "T", "start_time": "9999-12-31T23:30:00Z", "duration_minutes": 60}),
    # the domain's own rules
    Bad("capacity one", "POST", MEETINGS, 422, "invalid_meeting_data", json={"title": "T", "capacity": 1}),
    Bad("capacity huge", "POST", MEETINGS, 422, "invalid_meeting_data", json={"title": "T", "capacity": 10**30}),
    Bad("zero duration", "POST", MEETINGS, 422, "invalid_meeting_data", json={"title": "T", "duration_minutes": 0}),
    Bad("blank title", "POST", MEETINGS, 422, "invalid_meeting_data", json={"title": "    "}),
    Bad("short meeting password", "POST", MEETINGS, 422, "invalid_meeting_data",
        json={"title": "T", "password": "abc"}),
    Bad("capacity below the people in it", "PUT", MEETING, 422, "invalid_meeting_data",
        json={"title": "Renamed", "capacity": 1}),
    Bad("title fine but password short", "PUT", MEETING, 422, "invalid_meeting_data",
        json={"title": "Renamed", "password": "abc"}),
    Bad("invalid username", "POST", REGISTER, 422, "invalid_user_data", json=GOOD_USER | {"username": "no spaces!"}),
    Bad("too short username", "POST", REGISTER, 422, "invalid_user_data", json=GOOD_USER | {"username": "ab"}),
    Bad("invalid email", "POST", REGISTER, 422, "invalid_user_data", json=GOOD_USER | {"email": "not-an-email"}),
    Bad("blank display name", "POST", REGISTER, 422, "invalid_user_data", json=GOOD_USER | {"display_name": "   "}),
    Bad("short password", "POST", REGISTER, 422, "weak_password", json=GOOD_USER | {"password": "short"}),
    Bad("common password", "POST", REGISTER, 422, "weak_password", json=GOOD_USER | {"password": "password1"}),
    Bad("username as password", "POST", REGISTER, 422, "weak_password", json=GOOD_USER | {"password": "newbie"}),
    Bad("duplicate username", "POST", REGISTER, 409, "username_taken", json=GOOD_USER | {"username": "Guest"}),
    Bad("duplicate email", "POST", REGISTER, 409, "email_taken", json=GOOD_USER | {"email": "GUEST@example.com"}),
    Bad("take someone's username", "PUT", f"{API}/users/{{host}}", 409, "username_taken", json={"username": "guest"}),
    Bad("valid name with invalid email", "PUT", f"{API}/users/{{host}}", 422, "invalid_user_data",
        json={"username": "renamed", "email": "bad"}),
    Bad("weak new password", "PUT", f"{API}/users/{{host}}", 422, "weak_password",
        json={"display_name": "New", "password": "short", "current_password": PASSWORD}),
    # valid JSON but not valid text: a lone surrogate anywhere is the caller's fault (was 500 / 503)
    *(Bad(f"lone surrogate in {where}", method, path, 422, "invalid_request", json=body, who=who)
      for where, method, path, body, who in (
          ("register username", "POST", REGISTER, GOOD_USER | {"username": "new\ud800"}, None),
          ("register email", "POST", REGISTER, GOOD_USER | {"email": "n\ud800@example.com"}, None),
          ("register password", "POST", REGISTER, GOOD_USER | {"password": "correct\ud800horse"}, None),
          ("register display name", "POST", REGISTER, GOOD_USER | {"display_name": "\udfff"}, None),
          ("login username", "POST", f"{API}/auth/login", {"username": "host\ud800", "password": PASSWORD}, None),
          ("login password", "POST", f"{API}/auth/login", {"username": "host", "password": "\ud800" * 9}, None),
          ("refresh token", "POST", f"{API}/auth/refresh", {"refresh_token": "\ud800"}, None),
          ("logout refresh token", "POST", f"{API}/auth/logout", {"refresh_token": "\ud800"}, "host"),
          ("join password", "POST", f"{MEETING}/join", {"password": "door\ud800"}, "admin"),
          ("meeting title", "POST", MEETINGS, {"title": "Board \ud800"}, "host"),
          ("meeting description", "POST", MEETINGS, {"title": "T", "description": "\udc00"}, "host"),
          ("meeting password", "POST", MEETINGS, {"title": "T", "password": "pass\ud800"}, "host"),
          ("meeting update", "PUT", MEETING, {"title": "\ud800"}, "host"),
          ("profile display name", "PUT", f"{API}/users/{{host}}", {"display_name": "\ud800"}, "host"),
          ("profile email", "PUT", f"{API}/users/{{host}}", {"email": "h\ud800@example.com"}, "host"),
          ("invitation email", "POST", f"{MEETING}/invitations", {"email": "x\ud800@example.com"}, "host"),
          ("an unknown field's name", "POST", MEETINGS, {"title": "T", "\ud800": 1}, "host"),
      )),
    # text a person reads: nothing invisible or direction-changing, no imitation of the staff
    Bad("right-to-left override in a display name", "POST", REGISTER, 422, "invalid_user_data",
        json=GOOD_USER | {"display_name": "Ann\u202egnp.exe"}),
    Bad("zero-width-only display name", "PUT", f"{API}/users/{{host}}", 422, "invalid_user_data",
        json={"display_name": "\u200b\u200b"}),
    Bad("display name imitating the administrator", "PUT", f"{API}/users/{{host}}", 422, "invalid_user_data",
        json={"display_name": "Аdministrator"}),
    Bad("bidi isolate in a title", "POST", MEETINGS, 422, "invalid_meeting_data", json={"title": "\u2067Board"}),
    Bad("tag characters in a title", "PUT", MEETING, 422, "invalid_meeting_data",
        json={"title": "Board\U000e0041"}),
    Bad("C1 control in a description", "POST", MEETINGS, 422, "invalid_meeting_data",
        json={"title": "T", "description": "a\x9bb"}),
    # credentials in the wrong shape
    Bad("bearer without a token", "GET", f"{API}/users/me", 401, "invalid_token", headers={"Authorization": "Bearer"},
        who=None),
    Bad("basic credentials", "GET", f"{API}/users/me", 401, "invalid_token",
        headers={"Authorization": "Basic cm9vdDpyb290"}, who=None),
    Bad("garbage token", "POST", MEETINGS, 401, "invalid_token", json={"title": "T"},
        headers={"Authorization": "Bearer not.a.jwt"}, who=None),
    Bad("garbage refresh token", "POST", f"{API}/auth/refresh", 401, "invalid_token", json={"refresh_token": "x.y.z"},
        who=None),
]


def _fill(value: Any, w: World) -> Any:
    if isinstance(value, str) and re.fullmatch(r"{\w+}", value):
        return w.fill(value)
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    return value


@pytest.mark.parametrize("bad", CASES, ids=lambda b: b.name.replace(" ", "_"))
async def test_bad_input_gets_a_json_4xx_and_changes_nothing(web_factory: WebFactory, bad: Bad) -> None:
    web = await web_factory(APP_MAX_BODY_BYTES=str(MAX_BODY))
    w = await build_world(web)
    who = {"host": w.host, "admin": w.admin, None: None}[bad.who]
    before = await snapshot(web, w)
    kw: dict[str, Any] = {"who": who, "headers": dict(bad.headers)}
    if bad.json is not _MISSING:
        kw["json"] = _fill(bad.json, w)
    if bad.data is not None:
        kw["data"] = bad.data
    reply = await web.call(bad.method, w.fill(bad.path), **kw)

    assert (reply.status, reply.code) == (bad.status, bad.code), reply.body
    error = reply.body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["message"] and isinstance(error["details"], dict)
    assert error["request_id"] == reply.headers["X-Request-Id"]
    assert await snapshot(web, w) == before


async def test_a_wrong_method_names_the_allowed_ones(web: WebApi) -> None:
    reply = await web.call("DELETE", f"{API}/users/me")
    assert reply.status == 405 and set(reply.headers["Allow"].split(",")) >= {"GET"}


async def test_schema_errors_name_the_offending_field(web: WebApi) -> None:
    host = await web.user("host")
    reply = await web.call("POST", MEETINGS, who=host, json={"title": "T", "settings": {"invite_only": "no"}})
    assert reply.status == 422 and reply.body["error"]["details"] == {"field": "settings/invite_only"}
    rule = await web.call("POST", MEETINGS, who=host, json={"title": "T", "capacity": 5000})
    assert rule.status == 422 and rule.body["error"]["details"] == {"field": "capacity"}


async def test_a_body_at_the_limit_is_still_accepted(web_factory: WebFactory) -> None:
    web = await web_factory(APP_MAX_BODY_BYTES=str(MAX_BODY))
    host = await web.user("host")
    body = {"title": "T", "description": "é" * ((MAX_BODY - 100) // 6)}  # 6 bytes each as \u00e9
    assert MAX_BODY - 100 < len(json.dumps(body)) <= MAX_BODY
    assert (await web.call("POST", MEETINGS, who=host, json=body)).status == 201


async def test_repeated_bad_logins_do_not_create_or_change_users(web: WebApi) -> None:
    admin = await web.admin()
    await web.user("host")
    before = await web.users_page(admin)
    for body in ({"username": "host"}, {"username": "host", "password": ""}, {"username": 5, "password": "x"},
                 {"username": "host", "password": "wrong password", "remember": True}):
        reply = await web.call("POST", f"{API}/auth/login", json=body)
        assert (reply.status, reply.code) == (422, "invalid_request")
    assert await web.users_page(admin) == before


async def test_a_query_string_cannot_smuggle_a_lone_surrogate(web: WebApi) -> None:
    """Percent-decoding turns invalid UTF-8 into U+FFFD and the parser refuses raw bytes: text either way."""
    admin = await web.admin()
    found = await web.ok("GET", f"{API}/admin/users?q=%ED%A0%80", who=admin)
    assert found["items"] == []
