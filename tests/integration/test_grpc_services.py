"""`python -m runners.users` and `python -m runners.meetings` as their own processes (production adapters,
one PostgreSQL database and Redis): a user signs up and schedules a meeting over HTTP, and another
service checks the token and admits the user over gRPC through the client adapters, as signaling will."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid

import aiohttp
import asyncpg
import pytest

from adapters.grpc.client import RpcClient
from adapters.grpc.meeting_access import GrpcMeetingAccess
from adapters.grpc.users import GrpcUsers
from domain.meetings.errors import MeetingNotFound, NotMeetingHost
from domain.shared.actor import Actor
from domain.shared.errors import Unauthenticated
from domain.shared.ids import MeetingId, UserId, new_id
from domain.users.errors import InvalidToken
from tests.support.process import ROOT, allinone, free_port

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"
SECRET = secrets.token_urlsafe(40)


async def test_users_and_meetings_serve_other_services_over_grpc(tmp_path, postgres_server_dsn, redis_server_url):
    db = f"confero_grpc_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        users_grpc, meetings_grpc = free_port(), free_port()
        env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
               "APP_POSTGRES_DSN": postgres_server_dsn.rsplit("/", 1)[0] + "/" + db, "APP_REDIS_URL": redis_server_url,
               "APP_SERVICE_SECRETS": SECRET, "APP_USERS_GRPC_PORT": str(users_grpc),
               "APP_MEETINGS_GRPC_PORT": str(meetings_grpc), "APP_METRICS_PORT": "0"}
        with allinone(env, tmp_path / "users.log", module="runners.users", timeout=40,
                      port_variable="APP_USERS_PORT") as users_http, \
                allinone(env, tmp_path / "meetings.log", module="runners.meetings", timeout=40,
                         port_variable="APP_MEETINGS_PORT") as meetings_http:
            async with aiohttp.ClientSession() as s:
                name = f"host{new_id()[:8]}"
                user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
                async with s.post(f"{users_http}/api/v1/auth/register", json=user) as r:
                    assert r.status == 201, await r.text()
                async with s.post(f"{users_http}/api/v1/auth/login", json={"username": name, "password": PASSWORD}) as r:
                    token = (await r.json())["access_token"]
                async with s.post(f"{meetings_http}/api/v1/meetings", json={"title": "Split services"},
                                  headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 201, await r.text()
                    meeting = MeetingId((await r.json())["id"])
                async with s.post(f"{meetings_http}/api/v1/auth/login", json=user) as r:
                    assert r.status == 404  # the meetings process serves no auth routes
            async with RpcClient("127.0.0.1", users_grpc, SECRET) as uc, \
                    RpcClient("127.0.0.1", meetings_grpc, SECRET) as mc:
                users, access = GrpcUsers(uc), GrpcMeetingAccess(mc)
                principal = await users.authenticate(token)
                assert (await users.summary(principal.user_id)).username == name
                admission = await access.admit(principal.actor, meeting, None)
                assert admission.role == "host" and dict(admission.roles) == {principal.user_id: "host"}
                await access.require_manager(principal.actor, meeting)
                with pytest.raises(NotMeetingHost):
                    await access.require_manager(Actor(UserId(new_id())), meeting)
                with pytest.raises(MeetingNotFound):
                    await access.admit(principal.actor, MeetingId(new_id()), None)
                await access.depart(principal.actor, meeting)
                with pytest.raises(InvalidToken):
                    await users.authenticate(token + "x")
            async with RpcClient("127.0.0.1", users_grpc, "not-the-secret-" + "x" * 30) as wrong:
                with pytest.raises(Unauthenticated):
                    await GrpcUsers(wrong).authenticate(token)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


@pytest.mark.parametrize("module", ["runners.users", "runners.meetings"])
def test_a_service_refuses_to_start_in_production_without_a_service_secret(module):
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {
        "APP_ADAPTERS": "production", "APP_JWT_SECRET": "j" * 40, "APP_POSTGRES_DSN": "postgresql://127.0.0.1:1/x",
        "APP_REDIS_URL": "redis://127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "APP_SERVICE_SECRETS is required" in done.stderr
