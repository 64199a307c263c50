"""Two signaling processes on one Redis serve one room; members on either see each other."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import signal
import uuid

import aiohttp
import asyncpg
import pytest

from runners.signaling.protocol import check_server
from tests.support.process import process
from tests.support.scripted import Api
from tests.support.signaling_client import SignalingClient


@pytest.fixture
async def database(postgres_server_dsn):
    name = f"confero_sig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server_dsn.rsplit("/", 1)[0] + "/" + name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@contextlib.contextmanager
def _processes(tmp_path, database, redis_server_url, member_ttl: int):
    """An all-in-one for the HTTP API and two signaling-only processes, all on the same servers.

    They use the production key names, so they get a Redis database of their own (1-15, at random):
    in the shared one, another run's processes (another branch's code, even) would consume this
    run's meeting events from the shared stream."""
    redis_url = f"{redis_server_url.rsplit('/', 1)[0]}/{random.randint(1, 15)}"
    env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_POSTGRES_DSN": database,
           "APP_REDIS_URL": redis_url, "APP_SIGNALING_MEMBER_TTL": str(member_ttl), "APP_SIGNALING_GRACE": "2",
           "APP_LOG_LEVEL": "WARNING", "APP_WS_RATE": "10000", "APP_WS_BURST": "10000",
           "APP_WS_MAX_SOCKETS_PER_USER": "4"}
    with contextlib.ExitStack() as stack:
        api, _ = stack.enter_context(process(env, tmp_path / "api.log"))
        one = stack.enter_context(process(env | {"APP_INSTANCE_ID": "sig-1"}, tmp_path / "sig1.log",
                                          module="runners.signaling", port_variable="APP_SIGNALING_PORT"))
        two = stack.enter_context(process(env | {"APP_INSTANCE_ID": "sig-2"}, tmp_path / "sig2.log",
                                          module="runners.signaling", port_variable="APP_SIGNALING_PORT"))
        yield api, one, two


@pytest.fixture
def cluster(tmp_path, database, redis_server_url):
    with _processes(tmp_path, database, redis_server_url, member_ttl=3) as processes:
        yield processes


@pytest.fixture
def slow_check_cluster(tmp_path, database, redis_server_url):
    """The periodic token check comes only every 30 s here (every 6th heartbeat of 5 s)."""
    with _processes(tmp_path, database, redis_server_url, member_ttl=30) as processes:
        yield processes


async def _user(api: Api, name: str) -> str:
    body = {"username": f"{name}{uuid.uuid4().hex[:6]}", "password": "correct horse battery"}
    status, _ = await api.call("POST", "/api/v1/auth/register", json=body | {"email": f"{body['username']}@example.com"})
    assert status == 201
    status, tokens = await api.call("POST", "/api/v1/auth/login", json=body)
    return tokens["access_token"]


async def _pair_in_room(s: aiohttp.ClientSession, api_base: str, one: str, two: str,
                        title: str) -> tuple[Api, str, str, SignalingClient, SignalingClient]:
    """Ann on process one, Bob on process two, both in Ann's new meeting's room."""
    api = Api(s, api_base)
    ann, bob = await _user(api, "ann"), await _user(api, "bob")
    _, meeting = await api.call("POST", "/api/v1/meetings", ann, {"title": title})
    room = meeting["id"]
    a = await SignalingClient.connect(s, one + "/ws/signaling", ann)
    b = await SignalingClient.connect(s, two + "/ws/signaling", bob)
    await a.request("join_room", {"room_id": room})
    await b.request("join_room", {"room_id": room})
    return api, ann, room, a, b


def _valid(message: dict) -> dict:
    assert check_server(message) == [], message
    return message


async def test_members_on_two_signaling_processes_share_one_room(cluster):
    api_base, (one, _), (two, _) = cluster
    async with aiohttp.ClientSession() as s:
        api = Api(s, api_base)
        ann, bob = await _user(api, "ann"), await _user(api, "bob")
        status, meeting = await api.call("POST", "/api/v1/meetings", ann, {"title": "Two processes"})
        room = meeting["id"]
        a = await SignalingClient.connect(s, one + "/ws/signaling", ann)
        b = await SignalingClient.connect(s, two + "/ws/signaling", bob)
        assert _valid(await a.request("join_room", {"room_id": room}))["type"] == "room_state"
        state = _valid(await b.request("join_room", {"room_id": room}))
        assert [m["user_id"] for m in state["data"]["members"]] == [a.user_id]
        assert _valid(await a.next("member_joined"))["data"]["user_id"] == b.user_id

        await a.request("offer", {"room_id": room, "to": b.user_id, "sdp": "v=0 offer"})
        assert _valid(await b.next("offer"))["data"] == {"room_id": room, "from": a.user_id, "sdp": "v=0 offer"}
        await b.request("answer", {"room_id": room, "to": a.user_id, "sdp": "v=0 answer"})
        assert _valid(await a.next("answer"))["data"]["sdp"] == "v=0 answer"
        candidate = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host", "sdpMid": "0",
                     "sdpMLineIndex": 0}
        await a.request("ice_candidate", {"room_id": room, "to": b.user_id, "candidate": candidate})
        assert _valid(await b.next("ice_candidate"))["data"]["candidate"] == candidate

        await b.request("chat", {"room_id": room, "text": "hello from process two"})
        assert _valid(await a.next("chat"))["data"]["text"] == "hello from process two"
        await a.request("media_state", {"room_id": room, "audio": False, "video": True, "screen": False})
        assert _valid(await b.next("media_state"))["data"]["audio"] is False

        assert (await b.request("leave_room", {"room_id": room}))["type"] == "ack"
        left = _valid(await a.next("member_left"))
        assert left["data"] == {"room_id": room, "user_id": b.user_id, "reason": "left"}
        await a.close()
        await b.close()


async def test_a_kick_through_the_api_reaches_a_socket_on_another_process(cluster):
    api_base, (one, _), (two, _) = cluster
    async with aiohttp.ClientSession() as s:
        api, ann, room, a, b = await _pair_in_room(s, api_base, one, two, "Kick across processes")
        status, _ = await api.call("POST", f"/api/v1/meetings/{room}/participants/{b.user_id}/kick", ann)
        assert status == 200
        assert _valid(await b.next("kicked", timeout=10))["data"]["room_id"] == room
        closed = await b.ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4001
        assert _valid(await a.next("member_left", timeout=10))["data"]["reason"] == "kicked"
        await a.close()


async def test_members_of_a_crashed_process_leave_their_room_within_the_ttl(cluster):
    api_base, (one, _), (two, two_proc) = cluster
    async with aiohttp.ClientSession() as s:
        api, ann, room, a, b = await _pair_in_room(s, api_base, one, two, "Crash")
        two_proc.send_signal(signal.SIGKILL)
        two_proc.wait()
        left = _valid(await a.next("member_left", timeout=15))
        assert left["data"] == {"room_id": room, "user_id": b.user_id, "reason": "disconnected"}
        status, people = await api.call("GET", f"/api/v1/meetings/{room}/participants", ann)
        assert [p["user_id"] for p in people["items"]] == [a.user_id]
        await a.close()


async def test_a_logout_closes_the_sessions_socket_on_another_process_at_once(slow_check_cluster):
    api_base, (one, _), (two, _) = slow_check_cluster
    async with aiohttp.ClientSession() as s:
        api = Api(s, api_base)
        body = {"username": f"bob{uuid.uuid4().hex[:6]}", "password": "correct horse battery"}
        await api.call("POST", "/api/v1/auth/register", json=body | {"email": f"{body['username']}@example.com"})
        _, first = await api.call("POST", "/api/v1/auth/login", json=body)
        _, second = await api.call("POST", "/api/v1/auth/login", json=body)
        on_one = await SignalingClient.connect(s, one + "/ws/signaling", first["access_token"])
        on_two = await SignalingClient.connect(s, two + "/ws/signaling", first["access_token"])
        other_session = await SignalingClient.connect(s, two + "/ws/signaling", second["access_token"])

        status, _ = await api.call("POST", "/api/v1/auth/logout", first["access_token"],
                                   {"refresh_token": first["refresh_token"]})
        assert status == 204
        for client in (on_one, on_two):  # long before the ~30 s periodic token check
            told = _valid(await client.next("error", timeout=10))
            assert told["data"]["code"] == "unauthenticated"
            closed = await client.ws.receive(timeout=5)
            assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401
        assert (await other_session.request("ping", {}))["type"] == "pong"
        await other_session.close()


async def test_strangers_joining_in_a_loop_on_another_process_read_nothing_of_an_invite_only_room(cluster):
    api_base, (one, _), (two, _) = cluster
    async with aiohttp.ClientSession() as s:
        api = Api(s, api_base)
        ann, bob, eve = await _user(api, "ann"), await _user(api, "bob"), await _user(api, "eve")
        _, meeting = await api.call("POST", "/api/v1/meetings", ann, {"title": "Invite only",
                                                                      "settings": {"invite_only": True}})
        room = meeting["id"]
        a = await SignalingClient.connect(s, one + "/ws/signaling", ann)
        b = await SignalingClient.connect(s, two + "/ws/signaling", bob)
        e = await SignalingClient.connect(s, two + "/ws/signaling", eve)
        status, _ = await api.call("POST", f"/api/v1/meetings/{room}/invitations", ann, {"user_id": b.user_id})
        assert status in (200, 201)
        assert (await a.request("join_room", {"room_id": room}))["type"] == "room_state"
        assert (await b.request("join_room", {"room_id": room}))["type"] == "room_state"
        done = False

        async def stranger() -> None:
            nonlocal done
            for _ in range(40):
                reply = await e.request("join_room", {"room_id": room}, timeout=10)
                assert reply["type"] == "error" and reply["data"]["code"] == "invitation_required", reply
            done = True

        async def members() -> int:
            said = 0
            while not done:
                for who in (a, b):
                    assert (await who.request("chat", {"room_id": room, "text": f"private {said}"}))["type"] == "ack"
                    said += 1
            return said

        _, said = await asyncio.gather(stranger(), members())
        assert said > 0
        assert (await e.request("ping", {}))["type"] == "pong"
        # Eve's own "new sign-in" notice may arrive at any moment (her account's first login); it is
        # addressed to her and says nothing of the room.
        leaked = [m for m in e.inbox if m["type"] not in ("error", "pong")
                  and not (m["type"] == "notification" and m["data"]["kind"] == "new_sign_in")]
        assert leaked == []
        assert not any(room in str(m) for m in e.inbox if m["type"] == "notification")
        for client in (a, b, e):
            await client.close()


async def test_honest_joins_on_two_processes_under_heartbeats_are_never_half_joined(cluster):
    api_base, (one, _), (two, _) = cluster
    async with aiohttp.ClientSession() as s:
        api = Api(s, api_base)
        ann = await _user(api, "ann")
        guests = [await _user(api, f"guest{n}") for n in range(4)]
        _, meeting = await api.call("POST", "/api/v1/meetings", ann, {"title": "Busy door"})
        room = meeting["id"]
        a = await SignalingClient.connect(s, one + "/ws/signaling", ann)
        assert (await a.request("join_room", {"room_id": room}))["type"] == "room_state"
        for n in range(12):  # with a 3 s TTL the processes renew every second, across these rounds
            clients = [await SignalingClient.connect(s, (one, two)[i % 2] + "/ws/signaling", g)
                       for i, g in enumerate(guests)]
            replies = await asyncio.gather(*(c.request("join_room", {"room_id": room}, timeout=10)
                                             for c in clients))
            assert all(r["type"] == "room_state" for r in replies), replies
            for c in clients:
                said = await c.request("chat", {"room_id": room, "text": f"round {n}"})
                assert said["type"] == "ack", (said, c.inbox)
                assert [m for m in c.inbox if m["type"] == "removed"] == []
                assert (await c.request("leave_room", {"room_id": room}))["type"] == "ack"
                await c.close()
        await a.close()


async def test_the_socket_cap_holds_across_processes(cluster):
    api_base, (one, _), (two, _) = cluster
    async with aiohttp.ClientSession() as s:
        api = Api(s, api_base)
        bob = await _user(api, "bob")

        async def attempt(base: str) -> tuple[str, aiohttp.ClientWebSocketResponse]:
            ws = await s.ws_connect(base + "/ws/signaling", headers={"Authorization": f"Bearer {bob}"})
            first = _valid(await ws.receive_json(timeout=10))
            return (first["type"] if first["type"] == "welcome" else first["data"]["code"]), ws

        opened = [await attempt((one, two)[n % 2]) for n in range(4)]
        assert [kind for kind, _ in opened] == ["welcome"] * 4
        for base in (one, two):
            refused, ws = await attempt(base)
            assert refused == "too_many_sockets"
            closed = await ws.receive(timeout=5)
            assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 1008

        await opened[0][1].close()  # its process releases the place when it sees the close
        for _ in range(50):
            kind, ws = await attempt(two)
            if kind == "welcome":
                break
            await asyncio.sleep(0.1)
        assert kind == "welcome"
        for _, ws in opened[1:]:
            await ws.close()
