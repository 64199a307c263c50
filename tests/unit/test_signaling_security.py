"""Who may open a signaling socket, and what a socket may do: authentication (header or first frame),
origins, the meeting domain's admission rules, token checks on open sockets, re-authentication."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from runners.signaling import tasks
from tests.unit.signaling_support import (  # noqa: F401  (fixtures)
    Signaling,
    SignalingFactory,
    frame,
    signaling,
    signaling_factory,
    web_factory,
)
from tests.unit.web_support import API

POLICY_VIOLATION = 1008
TOKEN_REFUSED = 4401


# -- authentication --------------------------------------------------------------------------------

async def test_a_socket_that_never_authenticates_is_closed_after_the_timeout(
        signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_WS_AUTH_TIMEOUT="1")
    ws = await s.raw()
    started = asyncio.get_running_loop().time()
    assert await ws.closed() == POLICY_VIOLATION
    assert asyncio.get_running_loop().time() - started >= 0.9
    assert ws.inbox == []  # no welcome, nothing else


async def test_a_bad_token_in_the_auth_frame_closes_the_socket(signaling: Signaling) -> None:
    ws = await signaling.raw()
    await ws.send("auth", {"token": "not-a-token"}, request_id=None)
    assert await ws.closed() == TOKEN_REFUSED
    assert [m["data"]["code"] for m in ws.inbox] == ["invalid_token"]


async def test_a_revoked_token_in_the_auth_frame_closes_the_socket(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    await s.web.ok("POST", f"{API}/auth/logout", 204, who=bob, json={"refresh_token": bob.refresh})
    ws = await s.raw()
    await ws.send("auth", {"token": bob.access}, request_id=None)
    assert await ws.closed() == TOKEN_REFUSED


@pytest.mark.parametrize("first", [
    frame("ping", {}),
    frame("join_room", {"room_id": str(uuid.uuid4())}),
    "not json at all",
    frame("auth", {"token": ""}),
    frame("auth", {"token": "x", "extra": 1}),
])
async def test_a_first_frame_that_is_not_a_valid_auth_closes_the_socket(signaling: Signaling, first: str) -> None:
    ws = await signaling.raw()
    await ws.send_raw(first)
    assert await ws.closed() == POLICY_VIOLATION
    assert ws.inbox == []


async def test_a_binary_first_frame_closes_the_socket(signaling: Signaling) -> None:
    ws = await signaling.raw()
    await ws.send_raw(b'{"v":1,"type":"auth","data":{"token":"x"}}')
    assert await ws.closed() == POLICY_VIOLATION


async def test_a_bad_bearer_header_is_refused_with_401_before_the_upgrade(signaling: Signaling) -> None:
    s = signaling
    reply = await s.web.call("GET", "/ws/signaling", headers={"Authorization": "Bearer not-a-token"})
    assert (reply.status, reply.code) == (401, "invalid_token")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await s.session.ws_connect(s.url, headers={"Authorization": "Bearer not-a-token"})
    assert refused.value.status == 401


async def test_a_good_bearer_header_or_auth_frame_is_welcomed(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    for header_auth in (True, False):
        client = await s.connect(bob, header_auth=header_auth)
        assert client.user_id == bob.id
        await client.alive()


# -- origins ---------------------------------------------------------------------------------------

async def test_a_foreign_origin_is_refused_with_403(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    reply = await s.web.call("GET", "/ws/signaling", headers={"Origin": "https://evil.example"}, who=bob)
    assert (reply.status, reply.code) == (403, "origin_not_allowed")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await s.connect(bob, origin="https://evil.example")
    assert refused.value.status == 403


async def test_listed_origins_the_same_origin_and_no_origin_are_allowed(signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_WS_ORIGINS="https://app.example, https://other.example")
    bob = await s.web.user("bob")
    for origin in ("https://app.example", "https://other.example", s.app_origin, None):
        kw = {"origin": origin} if origin else {}
        client = await s.connect(bob, **kw)
        await client.alive()
        await client.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await s.connect(bob, origin="https://app.example.evil.example")
    assert refused.value.status == 403


async def test_cors_origins_are_the_default_websocket_origins(signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_CORS_ORIGINS="https://cors.example")
    bob = await s.web.user("bob")
    await (await s.connect(bob, origin="https://cors.example")).alive()


# -- admission: the meeting domain's rules hold for the room ----------------------------------------

async def test_joining_with_a_wrong_password_is_refused_and_the_socket_stays_usable(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann, password="open sesame")
    b = await s.connect(bob)

    wrong = await b.request("join_room", {"room_id": mid, "password": "nope nope"})
    assert wrong["type"] == "error" and wrong["data"]["code"] == "wrong_meeting_password"
    missing = await b.request("join_room", {"room_id": mid})
    assert missing["type"] == "error" and missing["data"]["code"] == "password_required"
    assert await s.participants(ann, mid) == set()
    await b.alive()
    state = await b.request("join_room", {"room_id": mid, "password": "open sesame"})
    assert state["type"] == "room_state"


async def test_a_kicked_user_cannot_join_the_room_again(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    await s.web.join(bob, mid)
    await s.host_action(ann, f"{mid}/participants/{bob.id}/kick")

    b = await s.connect(bob)
    refused = await b.request("join_room", {"room_id": mid})
    assert refused["type"] == "error" and refused["data"]["code"] == "kicked_from_meeting"
    await a.never("member_joined")
    await b.alive()
    # nor does it receive anything of that room
    await a.request("chat", {"room_id": mid, "text": "bob is out"})
    await b.never("chat")


async def test_a_locked_meeting_admits_no_one_new(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    await s.host_action(ann, f"{mid}/lock")
    await a.next("room_updated")

    b = await s.connect(bob)
    refused = await b.request("join_room", {"room_id": mid})
    assert refused["type"] == "error" and refused["data"]["code"] == "meeting_locked"
    await a.never("member_joined")
    await b.alive()


async def test_an_invite_only_meeting_needs_an_invitation(signaling: Signaling) -> None:
    s = signaling
    ann, bob, cid = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cid")
    mid = await s.meeting(ann, settings={"invite_only": True})
    c = await s.connect(cid)
    refused = await c.request("join_room", {"room_id": mid})
    assert refused["type"] == "error" and refused["data"]["code"] == "invitation_required"
    await c.alive()

    await s.web.ok("POST", f"{API}/meetings/{mid}/invitations", who=ann, json={"user_id": bob.id})
    b = await s.connect(bob)
    assert (await b.request("join_room", {"room_id": mid}))["type"] == "room_state"


async def test_an_unknown_meeting_cannot_be_joined(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    b = await s.connect(bob)
    refused = await b.request("join_room", {"room_id": str(uuid.uuid4())})
    assert refused["type"] == "error" and refused["data"]["code"] == "meeting_not_found"
    await b.alive()


async def test_an_ended_meeting_cannot_be_joined(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    await s.web.join(ann, mid)
    await s.host_action(ann, f"{mid}/end")
    b = await s.connect(bob)
    refused = await b.request("join_room", {"room_id": mid})
    assert refused["type"] == "error" and refused["data"]["code"] == "meeting_ended"
    await b.alive()


# -- open sockets and their tokens -------------------------------------------------------------------

async def test_a_logged_out_users_socket_is_closed_by_the_token_check(
        signaling: Signaling, monkeypatch: pytest.MonkeyPatch) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    await s.web.ok("POST", f"{API}/auth/logout", 204, who=bob, json={"refresh_token": bob.refresh})

    monkeypatch.setattr(tasks, "TOKEN_CHECK_EVERY", 1)
    stop = asyncio.Event()
    checks = asyncio.create_task(tasks.heartbeats(s.web.app, stop))
    try:
        assert await b.closed() == 4401
    finally:
        stop.set()
        await checks
    told = [m for m in b.inbox if m["type"] == "error"]
    assert [m["data"]["code"] for m in told] == ["unauthenticated"]
    await a.alive()  # the other user's session is untouched
    await a.never("member_left", within=0.05)  # the grace period applies as for any closed socket


async def test_reauthentication_with_a_fresh_token_of_the_same_user_is_accepted(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    b = await s.connect(bob)
    fresh = await s.web.login("bob")
    assert (await b.request("auth", {"token": fresh["access_token"]}))["type"] == "ack"
    await b.alive()


async def test_reauthentication_with_another_users_token_is_refused(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    b, _ = await s.member(bob, mid)

    other = await b.request("auth", {"token": ann.access})
    assert other["type"] == "error" and other["data"]["code"] == "invalid_token"
    junk = await b.request("auth", {"token": "junk"})
    assert junk["type"] == "error" and junk["data"]["code"] == "invalid_token"
    # still bob, with bob's room
    assert (await b.request("chat", {"room_id": mid, "text": "still me"}))["type"] == "ack"
    assert (await b.next("chat"))["data"]["from"] == bob.id


async def test_a_full_meeting_admits_no_one_more(signaling: Signaling) -> None:
    s = signaling
    ann, bob, cid = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cid")
    mid = await s.meeting(ann, capacity=2)
    await s.member(ann, mid)
    await s.member(bob, mid)
    c = await s.connect(cid)
    refused = await c.request("join_room", {"room_id": mid})
    assert refused["type"] == "error" and refused["data"]["code"] == "meeting_full"
    assert refused["data"]["details"] == {"capacity": 2}
    await c.alive()


async def test_the_null_origin_is_refused(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await s.connect(bob, origin="null")
    assert refused.value.status == 403


async def test_a_banned_users_socket_is_closed_by_the_token_check(
        signaling: Signaling, monkeypatch: pytest.MonkeyPatch) -> None:
    s = signaling
    admin, bob = await s.web.admin(), await s.web.user("bob")
    b = await s.connect(bob)
    await s.web.ok("POST", f"{API}/admin/users/{bob.id}/ban", who=admin)

    monkeypatch.setattr(tasks, "TOKEN_CHECK_EVERY", 1)
    stop = asyncio.Event()
    checks = asyncio.create_task(tasks.heartbeats(s.web.app, stop))
    try:
        assert await b.closed() == 4401
    finally:
        stop.set()
        await checks
    again = await s.raw()
    await again.send("auth", {"token": bob.access}, request_id=None)
    assert await again.closed() == TOKEN_REFUSED


async def test_a_refused_upgrade_carries_its_request_id_in_the_body(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    for headers, who in (({"Origin": "https://evil.example"}, bob), ({"Authorization": "Bearer not-a-token"}, None)):
        for sent in ("client-chosen-id-0001", None):
            extra = {"X-Request-Id": sent} if sent else {}
            reply = await s.web.call("GET", "/ws/signaling", headers=headers | extra, who=who)
            assert reply.status in (401, 403)
            assert reply.body["error"]["request_id"] == reply.headers["X-Request-Id"]
            if sent:
                assert reply.headers["X-Request-Id"] == sent
