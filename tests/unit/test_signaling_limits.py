"""Per-user caps (sockets per user, rooms per socket) and revocation reaching open sockets at once:
a ban, a logout, a password or role change close the affected signaling sockets when the event
arrives, not at the next periodic token check (which runs every ~30 s and is never reached here)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.memory.rooms import InMemorySignalBus
from domain.rooms.events import AccessRevoked
from domain.shared.ids import UserId
from runners.signaling.context import HUB
from runners.signaling.hub import Hub
from domain.users.service import UserService
from tests.unit.test_room_media_routing import a_connection
from tests.unit.signaling_support import (  # noqa: F401  (fixtures)
    Signaling,
    SignalingFactory,
    signaling,
    signaling_factory,
    web_factory,
)
from tests.unit.web_support import API, PASSWORD

POLICY_VIOLATION = 1008
UNAUTHENTICATED = 4401


# -- caps ------------------------------------------------------------------------------------------

async def test_a_user_over_the_socket_cap_is_told_and_closed_and_others_are_not_affected(
        signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_WS_MAX_SOCKETS_PER_USER="3")
    bob, cid = await s.web.user("bob"), await s.web.user("cid")
    sockets = await asyncio.gather(*(s.connect(bob) for _ in range(3)))

    for header_auth in (False, True):
        extra = await s.raw(headers={"Authorization": f"Bearer {bob.access}"}) if header_auth else await s.raw()
        if not header_auth:
            await extra.send("auth", {"token": bob.access}, request_id=None)
        assert await extra.closed() == POLICY_VIOLATION
        assert [(m["type"], m["data"]["code"], m["data"]["details"]) for m in extra.inbox] == [
            ("error", "too_many_sockets", {"limit": 3})]
    for socket in sockets:
        await socket.alive()
    await (await s.connect(cid)).alive()

    await sockets[0].close()
    for _ in range(100):  # the server notices the close after the client sent it
        if s.web.app[HUB].sockets_of(bob.id) < 3:
            break
        await asyncio.sleep(0.01)
    await (await s.connect(bob)).alive()


async def test_many_sockets_opened_at_once_stop_at_the_cap(signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_WS_MAX_SOCKETS_PER_USER="4")
    bob = await s.web.user("bob")
    raws = await asyncio.gather(*(s.raw(headers={"Authorization": f"Bearer {bob.access}"}) for _ in range(12)))

    async def outcome(ws) -> str:  # noqa: ANN001
        try:
            first = await ws.next(lambda m: True)
        except ConnectionError:
            return "closed"
        return first["type"] if first["type"] == "welcome" else first["data"]["code"]

    results = await asyncio.gather(*(outcome(ws) for ws in raws))
    assert sorted(results) == ["too_many_sockets"] * 8 + ["welcome"] * 4


async def test_a_socket_over_the_room_cap_gets_an_error_and_keeps_its_rooms(
        signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_WS_MAX_ROOMS_PER_SOCKET="2")
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    rooms = [await s.meeting(ann) for _ in range(3)]
    b = await s.connect(bob)
    for room in rooms[:2]:
        assert (await b.request("join_room", {"room_id": room}))["type"] == "room_state"

    refused = await b.request("join_room", {"room_id": rooms[2]})
    assert refused["type"] == "error" and refused["data"]["code"] == "too_many_rooms"
    assert refused["data"]["details"] == {"limit": 2}
    assert await s.participants(ann, rooms[2]) == set()  # not admitted to the meeting either
    assert (await b.request("join_room", {"room_id": rooms[0]}))["type"] == "room_state"  # rejoining is fine
    assert (await b.request("leave_room", {"room_id": rooms[0]}))["type"] == "ack"
    assert (await b.request("join_room", {"room_id": rooms[2]}))["type"] == "room_state"


# -- revocation ------------------------------------------------------------------------------------

async def test_banning_a_user_closes_all_their_sockets_at_once(signaling: Signaling) -> None:
    s = signaling
    admin, ann, bob = await s.web.admin(), await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    in_room, _ = await s.member(bob, mid)
    idle = await s.connect(bob)

    await s.web.ok("POST", f"{API}/admin/users/{bob.id}/ban", who=admin)
    for socket in (in_room, idle):
        assert await socket.closed() == UNAUTHENTICATED
        assert [m["data"]["code"] for m in socket.inbox if m["type"] == "error"] == ["unauthenticated"]
    await a.alive()


async def test_logging_out_closes_that_sessions_sockets_only(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    other_session = await s.web.login("bob")
    leaving = await s.connect(bob)
    staying = await s.connect(other_session["access_token"])

    await s.web.ok("POST", f"{API}/auth/logout", 204, who=bob, json={"refresh_token": bob.refresh})
    assert await leaving.closed() == UNAUTHENTICATED
    await staying.alive()
    await staying.never(lambda m: m["type"] == "error", within=0.1)


async def test_changing_the_password_closes_every_socket_of_the_user(signaling: Signaling) -> None:
    s = signaling
    bob = await s.web.user("bob")
    other_session = await s.web.login("bob")
    sockets = [await s.connect(bob), await s.connect(other_session["access_token"])]

    await s.web.ok("PUT", f"{API}/users/{bob.id}", who=bob,
                   json={"password": "a brand new pass phrase", "current_password": PASSWORD})
    for socket in sockets:
        assert await socket.closed() == UNAUTHENTICATED


async def test_changing_a_users_role_closes_their_sockets(signaling: Signaling) -> None:
    s = signaling
    admin, bob = await s.web.admin(), await s.web.user("bob")
    b = await s.connect(bob)
    await s.web.ok("PUT", f"{API}/admin/users/{bob.id}/role", who=admin, json={"role": "admin"})
    assert await b.closed() == UNAUTHENTICATED


async def test_a_revocation_that_arrives_while_a_socket_authenticates_is_checked_again_at_registration() -> None:
    bus = InMemorySignalBus()
    hub = Hub(bus)
    bob, cid = UserId("bbbbbbbb-0000-4000-8000-000000000002"), UserId("cccccccc-0000-4000-8000-000000000003")
    hub.revoked(AccessRevoked(user_id=bob, session_id="s-old"))
    assert hub.register(a_connection(bob, "c-1", session="s-other")) is False
    assert hub.register(a_connection(bob, "c-2", session="s-old")) is True
    hub.revoked(AccessRevoked(user_id=bob))
    assert hub.register(a_connection(bob, "c-3", session="s-new")) is True
    assert hub.register(a_connection(cid, "c-4", session="s-old")) is False


async def test_a_socket_authenticated_just_before_a_ban_is_closed_at_registration(
        signaling: Signaling, monkeypatch: pytest.MonkeyPatch) -> None:
    s = signaling
    admin, bob = await s.web.admin(), await s.web.user("bob")
    real = UserService.authenticate
    calls = 0

    async def ban_after_the_first_check(self: UserService, token: str) -> Any:
        nonlocal calls
        calls += 1
        principal = await real(self, token)
        if calls == 1:  # the notice comes while this socket is between its check and its registration
            await s.web.ok("POST", f"{API}/admin/users/{bob.id}/ban", who=admin)
        return principal

    monkeypatch.setattr(UserService, "authenticate", ban_after_the_first_check)
    ws = await s.raw(headers={"Authorization": f"Bearer {bob.access}"})
    assert await ws.closed() == UNAUTHENTICATED
    assert [m["data"]["code"] for m in ws.inbox if m["type"] == "error"] == ["unauthenticated"]
