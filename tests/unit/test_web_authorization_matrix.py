"""Who may call what: every route x every kind of caller, each case on a freshly built world.

The world: an administrator; a *live* open meeting hosted by ``host`` with ``cohost`` (promoted) and
``participant`` joined; a *scheduled* meeting of the same host where ``cohost`` is co-host and
``participant`` is invited; ``other`` is signed in and unrelated to both.  User routes act on
``participant``'s account, so there ``participant`` is "self".
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import aiohttp
import pytest
from attrs import frozen

from adapters.memory.blobs import InMemoryBlobStore
from runners.web.app import served as served_endpoints
from tests.support.recording_fakes import FakeProcessor, FakeRoomRecorder
from tests.support.media_files import wav
from tests.unit.web_support import API, PASSWORD, Caller, WebApi, web, web_factory  # noqa: F401  (fixtures)

ANON, OTHER, PART, COHOST, HOST, ADMIN_ = "anonymous", "other", "participant", "cohost", "host", "admin"
ACTORS = (ANON, OTHER, PART, COHOST, HOST, ADMIN_)
Expected = tuple[int, str | None]


def expect(default: int | Expected, **per_actor: int | Expected) -> dict[str, Expected]:
    """Expectations for every actor; anonymous defaults to 401 invalid_token on protected routes."""
    def norm(v: int | Expected) -> Expected:
        return v if isinstance(v, tuple) else (v, None)
    return {a: norm(default) for a in ACTORS} | {a: norm(v) for a, v in per_actor.items()}


def protected(signed_in: int | Expected, **per_actor: int | Expected) -> dict[str, Expected]:
    return expect(signed_in, anonymous=(401, "invalid_token"), **per_actor)


NOT_HOST = (403, "not_meeting_host")
NOT_ALLOWED = (403, "not_allowed")
NOT_TO_RECORD = (403, "not_allowed_to_record")
HIDDEN = (403, "recordings_hidden")
AI_NOT_ALLOWED = (403, "analysis_not_allowed")


def host_only(ok: int = 200) -> dict[str, Expected]:
    return protected(NOT_HOST, host=ok, admin=ok)


def privileged(ok: int = 200) -> dict[str, Expected]:
    return protected(NOT_HOST, cohost=ok, host=ok, admin=ok)


def admin_only() -> dict[str, Expected]:
    return protected(NOT_ALLOWED, admin=200)


@frozen
class Case:
    name: str
    method: str
    path: str  # the documented template
    expected: dict[str, Expected]
    fill: dict[str, str] = {}  # template parameter -> a name in the world
    body: Any = None
    query: dict[str, str] = {}  # query parameter -> a name in the world


CASES = [
    Case("health", "GET", "/health", expect(200)),
    Case("ready", "GET", "/ready", expect(200)),
    Case("openapi", "GET", f"{API}/openapi.json", expect(200)),
    Case("register", "POST", f"{API}/auth/register", expect(201),
         body={"username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD}),
    Case("login", "POST", f"{API}/auth/login", expect(200), body={"username": "participant", "password": PASSWORD}),
    Case("refresh", "POST", f"{API}/auth/refresh", expect(200), body={"refresh_token": "<participant refresh>"}),
    Case("logout", "POST", f"{API}/auth/logout", protected(204)),
    Case("verify email", "POST", f"{API}/auth/verify-email", expect((422, "link_invalid")),
         body={"token": "x" * 43}),
    Case("resend verification", "POST", f"{API}/auth/verify-email/resend",
         protected((409, "email_already_verified"))),
    Case("request password reset", "POST", f"{API}/auth/password-reset", expect(202),
         body={"email": "participant@example.com"}),
    Case("confirm password reset", "POST", f"{API}/auth/password-reset/confirm", expect(204),
         body={"token": "<participant reset token>", "password": "a fresh pass phrase"}),

    Case("me", "GET", f"{API}/users/me", protected(200)),
    Case("get user", "GET", f"{API}/users/{{id}}", protected(200), {"id": PART}),
    Case("update user", "PUT", f"{API}/users/{{id}}", protected(NOT_ALLOWED, participant=200, admin=200),
         {"id": PART}, {"display_name": "Renamed"}),
    Case("admin list", "GET", f"{API}/admin/users", admin_only()),
    Case("ban", "POST", f"{API}/admin/users/{{id}}/ban", admin_only(), {"id": PART}),
    Case("unban", "POST", f"{API}/admin/users/{{id}}/unban", admin_only(), {"id": PART}),
    Case("set role", "PUT", f"{API}/admin/users/{{id}}/role", admin_only(), {"id": PART}, {"role": "admin"}),

    Case("create meeting", "POST", f"{API}/meetings", protected(201), body={"title": "Mine"}),
    Case("list meetings", "GET", f"{API}/meetings", protected(200)),
    Case("get meeting", "GET", f"{API}/meetings/{{id}}", protected(200), {"id": "live"}),
    Case("update meeting", "PUT", f"{API}/meetings/{{id}}", host_only(), {"id": "live"}, {"title": "Renamed"}),
    Case("delete meeting", "DELETE", f"{API}/meetings/{{id}}", host_only(204), {"id": "live"}),
    Case("join", "POST", f"{API}/meetings/{{id}}/join", protected(200), {"id": "live"}),
    Case("leave", "POST", f"{API}/meetings/{{id}}/leave",
         protected(200, other=(409, "not_a_participant"), admin=(409, "not_a_participant")), {"id": "live"}),
    Case("participants", "GET", f"{API}/meetings/{{id}}/participants",
         protected(200, other=(403, "not_a_participant")), {"id": "live"}),
    Case("invite", "POST", f"{API}/meetings/{{id}}/invitations", privileged(), {"id": "live"},
         {"email": "guest@example.com"}),
    Case("kick participant", "POST", f"{API}/meetings/{{id}}/participants/{{user_id}}/kick", privileged(),
         {"id": "live", "user_id": PART}),
    Case("kick co-host", "POST", f"{API}/meetings/{{id}}/participants/{{user_id}}/kick",
         host_only() | {COHOST: (409, "invalid_meeting_action")}, {"id": "live", "user_id": COHOST}),
    Case("promote", "POST", f"{API}/meetings/{{id}}/cohosts/{{user_id}}", host_only(),
         {"id": "live", "user_id": PART}),
    Case("demote", "DELETE", f"{API}/meetings/{{id}}/cohosts/{{user_id}}", host_only(),
         {"id": "live", "user_id": COHOST}),
    Case("transfer host", "POST", f"{API}/meetings/{{id}}/transfer-host", host_only(), {"id": "live"},
         {"user_id": "<participant id>"}),
    Case("lock", "POST", f"{API}/meetings/{{id}}/lock", privileged(), {"id": "live"}),
    Case("unlock", "POST", f"{API}/meetings/{{id}}/unlock", privileged(), {"id": "live"}),
    Case("captions on", "POST", f"{API}/meetings/{{id}}/captions/on", privileged(), {"id": "live"}),
    Case("captions off", "POST", f"{API}/meetings/{{id}}/captions/off", privileged(), {"id": "live"}),
    Case("transcript", "GET", f"{API}/meetings/{{id}}/transcript", protected(200, other=(403, "transcript_hidden")),
         {"id": "live"}),
    Case("end", "POST", f"{API}/meetings/{{id}}/end", host_only(), {"id": "live"}),
    Case("cancel", "POST", f"{API}/meetings/{{id}}/cancel", host_only(), {"id": "scheduled"}),

    Case("dead letters", "GET", f"{API}/admin/dead-letters", admin_only()),
    Case("replay dead letter", "POST", f"{API}/admin/dead-letters/{{id}}/replay",
         protected(NOT_ALLOWED, admin=(404, "dead_letter_not_found")), {"id": "live"}),

    Case("create webhook", "POST", f"{API}/admin/webhooks", protected(NOT_ALLOWED, admin=201),
         body={"url": "https://hooks.example.com/in", "kinds": ["meeting.started"]}),
    Case("list webhooks", "GET", f"{API}/admin/webhooks", admin_only()),
    Case("get webhook", "GET", f"{API}/admin/webhooks/{{id}}", admin_only(), {"id": "webhook"}),
    Case("update webhook", "PUT", f"{API}/admin/webhooks/{{id}}", admin_only(), {"id": "webhook"},
         {"enabled": False}),
    Case("delete webhook", "DELETE", f"{API}/admin/webhooks/{{id}}", protected(NOT_ALLOWED, admin=204),
         {"id": "webhook"}),
    Case("rotate webhook secret", "POST", f"{API}/admin/webhooks/{{id}}/rotate-secret", admin_only(),
         {"id": "webhook"}),
    Case("webhook deliveries", "GET", f"{API}/admin/webhooks/{{id}}/deliveries", admin_only(), {"id": "webhook"}),
    Case("redeliver webhook", "POST", f"{API}/admin/webhooks/{{id}}/deliveries/{{delivery_id}}/redeliver",
         protected(NOT_ALLOWED, admin=(404, "webhook_delivery_not_found")),
         {"id": "webhook", "delivery_id": "live"}),

    Case("media stats", "GET", f"{API}/media/stats", privileged(), query={"room_id": "live"}),

    Case("start recording", "POST", f"{API}/recordings", protected(NOT_TO_RECORD, cohost=201, host=201, admin=201),
         body={"meeting_id": "<second live meeting>"}),
    Case("stop recording", "POST", f"{API}/recordings/{{id}}/stop", protected(NOT_TO_RECORD, cohost=200, host=200,
                                                                              admin=200), {"id": "recording"}),
    Case("get recording", "GET", f"{API}/recordings/{{id}}", protected(200, other=HIDDEN), {"id": "recording"}),
    Case("delete recording", "DELETE", f"{API}/recordings/{{id}}",
         protected(NOT_TO_RECORD, cohost=204, host=204, admin=204), {"id": "completed recording"}),
    Case("meeting recordings", "GET", f"{API}/meetings/{{id}}/recordings", protected(200, other=HIDDEN),
         {"id": "live"}),
    Case("download recording", "GET", f"{API}/recording-files", expect(200),
         query={"key": "link key", "name": "link name", "expires": "link expires", "signature": "link signature"}),
    Case("my notifications", "GET", f"{API}/notifications", protected(200)),
    Case("mark all read", "POST", f"{API}/notifications/read-all", protected(200)),
    Case("mark read", "POST", f"{API}/notifications/{{id}}/read", protected((404, "notification_not_found")),
         {"id": "live"}),
    Case("notification preferences", "GET", f"{API}/notifications/preferences", protected(200)),
    Case("set notification preferences", "PUT", f"{API}/notifications/preferences", protected(200),
         body={"reminder_minutes": 15}),
    Case("push key", "GET", f"{API}/notifications/push-key", protected(200)),
    Case("push subscribe", "POST", f"{API}/notifications/push-subscriptions", protected(201),
         body={"endpoint": "https://push.example/abc", "keys": {"p256dh": "BPk", "auth": "au"}}),
    Case("push unsubscribe", "DELETE", f"{API}/notifications/push-subscriptions",
         protected((404, "push_subscription_not_found")), query={"endpoint": "push endpoint"}),
    Case("unsubscribe link", "GET", f"{API}/notifications/unsubscribe",
         expect((422, "invalid_unsubscribe_token")), query={"token": "bad token"}),
    Case("one-click unsubscribe", "POST", f"{API}/notifications/unsubscribe",
         expect((422, "invalid_unsubscribe_token")), query={"token": "bad token"}),
    Case("analyse text", "POST", f"{API}/ai/analyses", protected(200), body={"kind": "text_sentiment", "text": "glad"}),
    Case("analyse a meeting's media", "POST", f"{API}/ai/analyses",
         protected(200, other=AI_NOT_ALLOWED, admin=AI_NOT_ALLOWED),
         body={"kind": "text_emotion", "text": "wow", "meeting_id": "<live id>"}),
    Case("my analyses", "GET", f"{API}/ai/analyses", protected(200)),
    Case("an analysis", "GET", f"{API}/ai/analyses/{{id}}", protected(200, other=AI_NOT_ALLOWED), {"id": "analysis"}),
    Case("an analysis output", "GET", f"{API}/ai/analyses/{{id}}/output", protected(200, other=AI_NOT_ALLOWED),
         {"id": "denoised"}),
    Case("a meeting's analyses", "GET", f"{API}/ai/meetings/{{id}}/analyses", protected(200, other=AI_NOT_ALLOWED),
         {"id": "live"}),
    Case("ai models", "GET", f"{API}/ai/models", protected(200)),
    Case("inference nodes", "GET", f"{API}/ai/nodes", protected((403, "permission_denied"), admin=200)),
]


@frozen
class World:
    callers: dict[str, Caller]
    ids: dict[str, str]


async def build_world(web: WebApi) -> World:
    callers = {ADMIN_: await web.admin()}
    for name in (HOST, COHOST, PART, OTHER):
        callers[name] = await web.user(name)
    host, cohost, part = callers[HOST], callers[COHOST], callers[PART]
    live = (await web.meeting(host, title="Live"))["id"]
    await web.ok("POST", f"{API}/meetings/{live}/cohosts/{cohost.id}", who=host)
    for who in (host, cohost, part):
        await web.join(who, live)
    scheduled = (await web.meeting(host, title="Later", start_time="2035-01-01T09:00:00Z"))["id"]
    await web.ok("POST", f"{API}/meetings/{scheduled}/cohosts/{cohost.id}", who=host)
    await web.ok("POST", f"{API}/meetings/{scheduled}/invitations", who=host, json={"user_id": part.id})
    analysis = await web.ok("POST", f"{API}/ai/analyses", who=part,
                            json={"kind": "text_emotion", "text": "glad", "meeting_id": live})
    form = aiohttp.FormData({"kind": "denoise", "meeting_id": live})
    form.add_field("file", wav(0.3, rate=16_000), filename="a.wav", content_type="audio/wav")
    async with web.client.post(f"{API}/ai/analyses", data=form, headers=part.auth) as resp:
        assert resp.status == 200, await resp.text()
        denoised = await resp.json()
    hook = await web.ok("POST", f"{API}/admin/webhooks", 201, who=callers[ADMIN_],
                        json={"url": "https://hooks.example.com/world", "kinds": ["meeting.ended"]})
    seen = len(web.mailed)
    await web.ok("POST", f"{API}/auth/password-reset", 202, json={"email": part.email})
    ids = {"live": live, "scheduled": scheduled, "analysis": analysis["id"], "denoised": denoised["id"]} | {
        name: c.id for name, c in callers.items()}
    ids |= {"push endpoint": "https://push.example/none", "bad token": "not-a-token"}
    ids["webhook"] = hook["endpoint"]["id"]
    ids["reset token"] = await web.link_token("user.password_reset_requested", part.email, after=seen)
    ids |= await _recordings(web, host, cohost, part, live)
    return World(callers, ids)


async def _recordings(web: WebApi, host: Caller, cohost: Caller, part: Caller, live: str) -> dict[str, str]:
    """A completed and a running recording of the live meeting (with in-test media), a second live
    meeting to start one in, and the parts of a download link of the completed one's first file."""
    service = web.services.recordings
    service.blobs = InMemoryBlobStore()
    service.recorder = FakeRoomRecorder(service.blobs)
    service.processor = FakeProcessor(service.blobs)
    done = await web.ok("POST", f"{API}/recordings", 201, who=host, json={"meeting_id": live})
    await web.ok("POST", f"{API}/recordings/{done['id']}/stop", who=host)
    await service.drain()
    link = (await web.ok("GET", f"{API}/recordings/{done['id']}", who=host))["files"][0]["download_url"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))
    running = await web.ok("POST", f"{API}/recordings", 201, who=host, json={"meeting_id": live})
    second = (await web.meeting(host, title="Also live"))["id"]
    await web.ok("POST", f"{API}/meetings/{second}/cohosts/{cohost.id}", who=host)
    for who in (host, cohost, part):
        await web.join(who, second)
    return {"recording": running["id"], "completed recording": done["id"], "second live": second,
            "link key": query["key"], "link name": query["name"], "link expires": query["expires"],
            "link signature": query["signature"]}


def _body(case: Case, world: World) -> Any:
    part = world.callers[PART]
    replace = {"<participant refresh>": part.refresh, "<participant id>": part.id,
               "<participant reset token>": world.ids["reset token"],
               "<second live meeting>": world.ids["second live"], "<live id>": world.ids["live"]}
    return None if case.body is None else {k: replace.get(v, v) if isinstance(v, str) else v
                                          for k, v in case.body.items()}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.replace(" ", "_"))
async def test_each_route_answers_each_kind_of_caller_as_the_rules_say(web: WebApi, case: Case, actor: str) -> None:
    world = await build_world(web)
    path = case.path.format(**{param: world.ids[name] for param, name in case.fill.items()})
    who = world.callers.get(actor)
    params = {name: world.ids[value] for name, value in case.query.items()} if case.query else None
    reply = await web.call(case.method, path, who=who, params=params,
                           **({} if case.body is None else {"json": _body(case, world)}))
    status, code = case.expected[actor]
    assert reply.status == status, f"{case.name} as {actor}: {reply.status} {reply.body}"
    if status >= 400:
        assert reply.code == code, f"{case.name} as {actor}: {reply.body}"
    if case.name == "get user" and status == 200:
        assert ("email" in reply.body) is (actor in (PART, ADMIN_)), f"{actor} saw {reply.body}"


def test_the_matrix_covers_every_route_and_names_every_error_code() -> None:
    # The WebSocket upgrade authenticates in its own way (header or first frame): tests/unit/test_signaling_*.py
    served = {(e.method, e.path) for e in served_endpoints() if e.tag != "signaling"}
    assert {(c.method, c.path) for c in CASES} == served
    for case in CASES:
        assert set(case.expected) == set(ACTORS)
        for actor, (status, code) in case.expected.items():
            assert (status >= 400) is (code is not None), f"{case.name} as {actor}: say which error code"

