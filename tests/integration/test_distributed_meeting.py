"""A meeting spread over processes (issue 14): etcd (the test's own, so it can be restarted), PostgreSQL,
Redis, and users, two meetings instances, two signaling processes without a database and the gateway,
each its own process (tests/support/distributed.py).  Everything goes through the gateway: the scripted
session; two members whose sockets are on different signaling processes chat, a kick, a leave and the
meeting's end reach them whichever process consumed the meeting event; etcd stopped and started again:
no request fails once it is back; one meetings instance killed (kill -9): the gateway routes around it.

The media part (media nodes, aiortc clients, a node killed) is in test_distributed_media.py."""

from __future__ import annotations

import asyncio
import random
import uuid

import aiohttp
import pytest

from tests.support.distributed import SETTLE, Cluster, cluster, fresh_database, own_etcd, signaling_sockets
from tests.support.scripted import Api, check_session_survived, scripted_session
from tests.support.signaling_client import SignalingClient

# Seven processes start one after another on a shared machine: more than the default 120 s at times.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
PASSWORD = "correct horse battery staple"


async def _ready(s: aiohttp.ClientSession, gateway: str) -> None:
    """The gateway has had the registry's first answer for every service."""
    async with asyncio.timeout(SETTLE):
        while True:
            async with s.get(f"{gateway}/ready") as r:
                if r.status == 200:
                    return
            await asyncio.sleep(0.2)


async def _user(api: Api, name: str) -> str:
    body = {"username": f"{name}{uuid.uuid4().hex[:6]}", "password": PASSWORD}
    status, _ = await api.call("POST", "/api/v1/auth/register", json=body | {"email": f"{body['username']}@example.com"})
    assert status == 201
    status, tokens = await api.call("POST", "/api/v1/auth/login", json=body)
    assert status == 200, tokens
    return tokens["access_token"]


async def _meeting_round(s: aiohttp.ClientSession, c: Cluster, api: Api) -> None:
    """Two members whose sockets are on the two signaling processes: join, chat, a third one joins and
    leaves, the guest is kicked, the meeting ends: every step reaches the sockets on both processes."""
    ann, bob, cat = await _user(api, "ann"), await _user(api, "bob"), await _user(api, "cat")
    status, meeting = await api.call("POST", "/api/v1/meetings", ann, {"title": "Spread"})
    assert status == 201, meeting
    room = meeting["id"]
    ws = c.gateway + "/ws/signaling"
    a = await SignalingClient.connect(s, ws, ann)
    b = await SignalingClient.connect(s, ws, bob)  # the gateway sends it to the less busy process
    try:
        assert sorted(signaling_sockets(m) for m in c.of("signaling")) == [1, 1]  # one socket on each
        assert (await a.request("join_room", {"room_id": room}))["type"] == "room_state"
        joined = await b.request("join_room", {"room_id": room})
        assert joined["type"] == "room_state", joined
        assert [m["user_id"] for m in joined["data"]["members"]] == [a.user_id]
        assert (await a.next("member_joined", timeout=10))["data"]["user_id"] == b.user_id
        await b.request("chat", {"room_id": room, "text": "hello across processes"})
        assert (await a.next("chat", timeout=10))["data"]["text"] == "hello across processes"

        k = await SignalingClient.connect(s, ws, cat)
        try:
            assert (await k.request("join_room", {"room_id": room}))["type"] == "room_state"
            assert (await a.next("member_joined", timeout=10))["data"]["user_id"] == k.user_id
            assert (await b.next("member_joined", timeout=10))["data"]["user_id"] == k.user_id
            await k.request("leave_room", {"room_id": room})
            for member in (a, b):
                left = await member.next("member_left", timeout=10)
                assert left["data"]["user_id"] == k.user_id, left
        finally:
            await k.close()

        status, _ = await api.call("POST", f"/api/v1/meetings/{room}/participants/{b.user_id}/kick", ann)
        assert status == 200
        assert (await b.next("kicked", timeout=10))["data"]["room_id"] == room
        assert (await a.next("member_left", timeout=10))["data"]["reason"] == "kicked"

        status, _ = await api.call("POST", f"/api/v1/meetings/{room}/end", ann)
        assert status == 200
        assert (await a.next("room_closed", timeout=10))["data"]["room_id"] == room
    finally:
        await a.close()
        await b.close()


async def test_a_meeting_spread_over_processes_survives_an_etcd_restart_and_a_killed_instance(
        tmp_path, postgres_server_dsn, redis_server_url):
    # A Redis database of its own (1-15): other runs' processes would consume this run's meeting events.
    redis_url = f"{redis_server_url.rsplit('/', 1)[0]}/{random.randint(1, 15)}"
    async with fresh_database(postgres_server_dsn) as dsn, aiohttp.ClientSession() as s:
        with own_etcd(tmp_path / "etcd") as etcd, cluster(tmp_path, dsn, redis_url, etcd, meetings=2) as c:
            await _ready(s, c.gateway)
            api = Api(s, c.gateway)
            facts = await scripted_session(api, uuid.uuid4().hex[:6])
            await _meeting_round(s, c, api)

            # etcd stopped, then started again: once it is back, no request fails.
            etcd.stop()
            etcd.start()
            await _meeting_round(s, c, api)
            await check_session_survived(api, facts)

            # One of the two meetings instances killed: the gateway takes its requests to the other.
            c.of("meetings")[0].kill()
            host = await _user(api, "hal")
            for n in range(6):  # the gateway's turns would have sent some of these to the dead instance
                status, meeting = await api.call("POST", "/api/v1/meetings", host, {"title": f"After {n}"})
                assert status == 201, meeting
                status, got = await api.call("GET", f"/api/v1/meetings/{meeting['id']}", host)
                assert status == 200 and got["title"] == f"After {n}", got
            await _meeting_round(s, c, api)
