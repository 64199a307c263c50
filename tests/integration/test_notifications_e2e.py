"""Notifications end to end through real processes (production adapters: PostgreSQL, a private Redis,
a real SMTP server the test starts): an invitation's email and its links; a reminder that survives a
restart and is sent once (fired by the separate notification process); an SMTP outage; poison jobs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401
from tests.support.notify_servers import SmtpServer, text_and_html
from tests.support.process import process
from tests.support.servers import PrivateRedis

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
PUBLIC = "https://meet.example.test"


@pytest.fixture
def redis_server():
    server = PrivateRedis(persistent=True)
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


def env_for(postgres_dsn: str, redis_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    return {"APP_ADAPTERS": "production", "APP_JWT_SECRET": "e2e-notifications-secret-0123456789-abcdef",
            "APP_POSTGRES_DSN": postgres_dsn, "APP_REDIS_URL": redis_url, "APP_LOG_LEVEL": "INFO",
            "APP_PUBLIC_URL": PUBLIC, "APP_SMTP_HOST": "127.0.0.1", "APP_SMTP_PORT": str(smtp_port),
            "APP_SMTP_TLS": "none", "APP_NOTIFY_RETRY_BASE": "0.3", "APP_NOTIFY_WORKERS": "2",
            "APP_FAST_PASSWORD_HASHING": "false", **extra}


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def call(self, method: str, path: str, token: str | None = None, status: int = 200, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(method, self.base + path, headers=headers, **kw) as r:
            body = await r.json() if r.content_type == "application/json" else None
            assert r.status == status, (method, path, r.status, body)
            return body

    async def user(self, name: str) -> tuple[str, str, str]:
        email = f"{name}-{secrets.token_hex(3)}@example.com"
        uname = f"{name}{secrets.token_hex(3)}"
        await self.call("POST", "/api/v1/auth/register", status=201,
                        json={"username": uname, "email": email, "password": PASSWORD})
        body = await self.call("POST", "/api/v1/auth/login", json={"username": uname, "password": PASSWORD})
        return body["access_token"], body["user"]["id"], email


async def eventually(check: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (found := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return found


async def test_an_invitation_produces_an_email_with_the_right_links(postgres_dsn, redis_server, smtp, tmp_path):
    smtp.start()
    with process(env_for(postgres_dsn, redis_server.url, smtp.port), tmp_path / "app.log") as (base, _):
        async with aiohttp.ClientSession() as session:
            api = Api(session, base)
            host, _, _ = await api.user("host")
            _, guest_id, guest_email = await api.user("guest")
            meeting = await api.call("POST", "/api/v1/meetings", host, 201,
                                     json={"title": "Roadmap <review>", "start_time": "2035-03-01T10:00:00Z"})
            await api.call("POST", f"/api/v1/meetings/{meeting['id']}/invitations", host, json={"user_id": guest_id})
            stranger = f"stranger-{secrets.token_hex(3)}@example.org"
            await api.call("POST", f"/api/v1/meetings/{meeting['id']}/invitations", host, json={"email": stranger})
            mails = await smtp.wait_for(2, kind="meeting_invitation")
    by_to = {m["To"]: m for m in mails}
    text, html = text_and_html(by_to[guest_email])
    assert f"{PUBLIC}/meetings/{meeting['id']}" in text and f'href="{PUBLIC}/meetings/{meeting["id"]}"' in html
    assert "Roadmap <review>" in text and "Roadmap &lt;review&gt;" in html
    assert str(by_to[guest_email]["List-Unsubscribe"]).strip().startswith(
        f"<{PUBLIC}/api/v1/notifications/unsubscribe?token=")
    text, _ = text_and_html(by_to[stranger])
    signup = next(word for word in text.split() if word.startswith(f"{PUBLIC}/signup?"))
    assert parse_qs(urlsplit(signup).query) == {"email": [stranger], "meeting": [meeting["id"]]}
    assert by_to[stranger]["List-Unsubscribe"] is None


async def test_a_reminder_survives_a_restart_and_is_sent_once_by_the_notification_process(
        postgres_dsn, pg_pool, redis_server, smtp, tmp_path):
    smtp.start()
    env = env_for(postgres_dsn, redis_server.url, smtp.port)
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(minutes=1, seconds=20)
    with process(env, tmp_path / "app.log") as (base, _):
        async with aiohttp.ClientSession() as session:
            api = Api(session, base)
            host, host_id, host_email = await api.user("host")
            await api.call("PUT", "/api/v1/notifications/preferences", host, json={"reminder_minutes": 1})
            meeting = await api.call("POST", "/api/v1/meetings", host, 201,
                                     json={"title": "Stand-up", "start_time": start.isoformat()})

            async def planned():
                return await pg_pool.fetch("SELECT fire_at, fired_at FROM notification_reminders"
                                           " WHERE meeting_id = $1", meeting["id"])
            (row,) = await eventually(planned, what="the reminder to be planned")
    # The API process is gone before the reminder is due; nothing in memory carries it over.
    assert row["fire_at"] == start - dt.timedelta(minutes=1)
    assert (await planned())[0]["fired_at"] is None, "the reminder fired before the restart: machine too slow"
    with process(env, tmp_path / "notifications.log", module="runners.notifications") as (base, _):
        mails = await smtp.wait_for(1, timeout=60, kind="meeting_reminder")

        async def fired():
            return (await planned())[0]["fired_at"] is not None
        await eventually(fired, what="the reminder to be marked fired")
    reminders = [m for m in smtp.received("meeting_reminder") if m["To"] == host_email]
    assert len(reminders) == 1 and "starts in 1 minutes" in mails[0]["Subject"]
    assert f"{PUBLIC}/meetings/{meeting['id']}" in text_and_html(reminders[0])[0]


async def test_an_smtp_outage_delays_mail_which_arrives_once_when_the_server_returns(
        postgres_dsn, redis_server, smtp, tmp_path):
    env = env_for(postgres_dsn, redis_server.url, smtp.port, APP_NOTIFY_MAX_ATTEMPTS="30")
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        with process(env, tmp_path / "app.log") as (base, _):
            async with aiohttp.ClientSession() as session:
                api = Api(session, base)
                host, _, _ = await api.user("host")
                _, guest_id, guest_email = await api.user("guest")
                meeting = await api.call("POST", "/api/v1/meetings", host, 201,
                                         json={"title": "Outage", "start_time": "2035-03-01T10:00:00Z"})
                await api.call("POST", f"/api/v1/meetings/{meeting['id']}/invitations", host,
                               json={"user_id": guest_id})

                async def retried_twice():
                    jobs = [json.loads(j) for j in await redis.zrange("confero:notify:delayed", 0, -1)]
                    return any(j["attempts"] >= 2 and j["address"] == guest_email for j in jobs)
                await eventually(retried_twice, what="the email to fail twice while the SMTP server is down")
                smtp.start()
                (mail,) = await smtp.wait_for(1, timeout=60, kind="meeting_invitation")

                async def settled():
                    return await redis.xlen("confero:notify:jobs") == 0 and await redis.zcard(
                        "confero:notify:delayed") == 0
                await eventually(settled, what="the queue to drain")
        assert mail["To"] == guest_email and len(smtp.received("meeting_invitation")) == 1
        # Account mail (verification, new sign-in) waited through the outage as well: none came twice.
        ids = [m["Message-ID"] for m in smtp.received()]
        assert len(ids) == len(set(ids)) and len(ids) >= 3
        assert await redis.xlen("confero:notify:jobs:dead") == 0
    finally:
        await redis.aclose()


async def test_poison_jobs_end_in_the_dead_letter_stream_without_blocking_the_others(
        postgres_dsn, redis_server, smtp, tmp_path):
    smtp.start()
    env = env_for(postgres_dsn, redis_server.url, smtp.port)
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        with process(env, tmp_path / "app.log") as (base, _):
            async with aiohttp.ClientSession() as session:
                api = Api(session, base)
                host, _, _ = await api.user("host")
                _, refused_id, refused_email = await api.user("refused")
                _, guest_id, guest_email = await api.user("guest")
                smtp.refuse_addresses.add(refused_email)
                await redis.xadd("confero:notify:jobs", {"job": "{this is not a job"})
                meeting = await api.call("POST", "/api/v1/meetings", host, 201,
                                         json={"title": "Poison", "start_time": "2035-03-01T10:00:00Z"})
                for user_id in (refused_id, guest_id):
                    await api.call("POST", f"/api/v1/meetings/{meeting['id']}/invitations", host,
                                   json={"user_id": user_id})
                (mail,) = await smtp.wait_for(1, timeout=60, kind="meeting_invitation")

                async def dead_invitation():
                    letters = [f for _, f in await redis.xrange("confero:notify:jobs:dead")]
                    return any("meeting_invitation" in f.get("job", "") for f in letters)
                await eventually(dead_invitation, what="the refused invitation's dead letter")
        assert mail["To"] == guest_email
        dead = {f.get("error", "")[:11]: f for _, f in await redis.xrange("confero:notify:jobs:dead")}
        # The refused user's account mail (verification, sign-in) is refused too: all "rejected".
        assert set(dead) == {"undecodable", "rejected: r"}, dead
        refused = [f for _, f in await redis.xrange("confero:notify:jobs:dead") if "meeting_invitation" in f["job"]]
        assert len(refused) == 1 and refused_email in refused[0]["job"] and "550" in refused[0]["error"]
    finally:
        await redis.aclose()
