"""Webhooks in a real process (the embedded all-in-one on a SQLite file): a delivery that failed because
the receiver was down survives a restart of the process and arrives once, signed, when the receiver is
back."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support.process import allinone
from tests.support.scripted import Api
from tests.support.webhook_receiver import Receiver

ADMIN = {"username": "root", "email": "root@example.com", "password": "root admin pass phrase"}


async def login(api: Api, username: str, password: str) -> str:
    status, tokens = await api.call("POST", "/api/v1/auth/login", json={"username": username, "password": password})
    assert status == 200, tokens
    return tokens["access_token"]


async def deliveries_until(api: Api, token: str, endpoint_id: str, done) -> list:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(20):
        while True:
            status, log = await api.call("GET", f"/api/v1/admin/webhooks/{endpoint_id}/deliveries", token)
            assert status == 200, log
            if done(log["items"]):
                return log["items"]
            await asyncio.sleep(0.05)


async def test_a_delivery_pending_at_a_stop_arrives_once_after_the_restart(tmp_path):
    receiver = Receiver()  # its port is reserved, nothing listens yet
    env = {"APP_ADAPTERS": "memory", "APP_SQLITE_PATH": str(tmp_path / "hooks.sqlite3"),
           "APP_JWT_SECRET": "a-laptop-demo-secret-that-is-long-enough-0123", "APP_FAST_PASSWORD_HASHING": "true",
           "APP_ADMIN_USERNAME": ADMIN["username"], "APP_ADMIN_EMAIL": ADMIN["email"],
           "APP_ADMIN_PASSWORD": ADMIN["password"], "APP_WEBHOOK_POLL_SECONDS": "0.05",
           "APP_WEBHOOK_RETRY_BASE_SECONDS": "0.2", "APP_WEBHOOK_RETRY_MAX_SECONDS": "0.5"}
    with allinone(env, tmp_path / "first.log") as base:
        async with aiohttp.ClientSession() as s:
            api = Api(s, base)
            root = await login(api, ADMIN["username"], ADMIN["password"])
            status, created = await api.call("POST", "/api/v1/admin/webhooks", root,
                                             {"url": receiver.url, "kinds": ["meeting.started"]})
            assert status == 201, created
            receiver.secret, endpoint_id = created["secret"], created["endpoint"]["id"]
            status, _ = await api.call("POST", "/api/v1/auth/register", json={
                "username": "host", "email": "host@example.com", "password": "correct horse 1"})
            assert status == 201
            host = await login(api, "host", "correct horse 1")
            status, meeting = await api.call("POST", "/api/v1/meetings", host, {"title": "Board"})
            assert status == 201
            status, _ = await api.call("POST", f"/api/v1/meetings/{meeting['id']}/join", host, {})
            assert status == 200
            (failing,) = await deliveries_until(api, root, endpoint_id,
                                                lambda items: items and items[0]["attempts"] >= 2)
            assert failing["status"] == "pending" and failing["response_status"] is None
    await receiver.start()
    try:
        with allinone(env, tmp_path / "second.log") as base:
            async with aiohttp.ClientSession() as s:
                api = Api(s, base)
                root = await login(api, ADMIN["username"], ADMIN["password"])
                (done,) = await deliveries_until(api, root, endpoint_id,
                                                 lambda items: items and items[0]["status"] != "pending")
                assert (done["status"], done["response_status"], done["id"]) == ("delivered", 204, failing["id"])
                status, endpoint = await api.call("GET", f"/api/v1/admin/webhooks/{endpoint_id}", root)
                assert (endpoint["enabled"], endpoint["consecutive_failures"]) == (True, 0)
        assert receiver.refused == 0
        assert [r["body"]["type"] for r in receiver.received] == ["meeting.started"]
        assert receiver.received[0]["body"]["data"]["meeting_id"] == meeting["id"]
    finally:
        await receiver.stop()
