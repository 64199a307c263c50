"""`python -m runners.ai` as its own process (HTTP + gRPC), production adapters, results in the
MongoDB-wire server; users sign in through the all-in-one, which shares PostgreSQL and Redis with it."""

from __future__ import annotations

import json
import secrets
import uuid

import aiohttp
import asyncpg
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from proto.confero.analysis import v1 as pb
from tests.support.process import allinone, free_port

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"


async def test_the_ai_process_serves_http_and_grpc_and_keeps_results_in_mongodb(tmp_path, postgres_server_dsn,
                                                                                 redis_server_url, mongo_server_url):
    db = f"confero_ai_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
               "APP_POSTGRES_DSN": postgres_server_dsn.rsplit("/", 1)[0] + "/" + db, "APP_REDIS_URL": redis_server_url}
        grpc_port = free_port()
        ai_env = env | {"APP_AI_GRPC_PORT": str(grpc_port),
                        "APP_MONGO_URL": mongo_server_url, "APP_MONGO_DATABASE": db}
        with allinone(env, tmp_path / "allinone.log") as base, \
                allinone(ai_env, tmp_path / "ai.log", module="runners.ai", timeout=40,
                         port_variable="APP_AI_PORT") as ai:
            async with aiohttp.ClientSession() as s:
                user = {"username": "speaker", "email": "speaker@example.com", "password": PASSWORD}
                async with s.post(f"{base}/api/v1/auth/register", json=user) as r:
                    assert r.status == 201, await r.text()
                async with s.post(f"{base}/api/v1/auth/login", json={"username": "speaker",
                                                                     "password": PASSWORD}) as r:
                    token = (await r.json())["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                async with s.get(f"{ai}/api/v1/openapi.json") as r:
                    paths = (await r.json())["paths"]
                    assert "/api/v1/ai/analyses" in paths and "/api/v1/meetings" not in paths
                async with s.post(f"{ai}/api/v1/ai/analyses", headers=auth,
                                  json={"kind": "text_sentiment", "text": "I am glad"}) as r:
                    body = await r.json()
                    assert r.status == 200 and body["result"]["items"][0]["label"] == "positive", body
                async with s.get(f"{ai}/api/v1/ai/analyses", headers=auth) as r:
                    mine = await r.json()
                    assert mine["total"] == 1 and mine["items"][0]["kind"] == "text_sentiment"
                async with s.post(f"{ai}/api/v1/ai/analyses", json={"kind": "text_sentiment", "text": "x"}) as r:
                    assert r.status == 401
            channel = Channel("127.0.0.1", grpc_port)
            try:
                stub = pb.AnalysisServiceStub(channel, metadata={"authorization": f"Bearer {token}"})
                ref = pb.AnalysisRef(id=mine["items"][0]["id"])
                got = await stub.get_analysis(ref)
                assert got.id == ref.id and got.label == "text sentiment"
                if got.status == pb.Status.COMPLETED:
                    assert json.loads(got.result_json)["items"][0]["text"] == "I am glad"
                with pytest.raises(GRPCError) as caught:
                    await pb.AnalysisServiceStub(channel).get_analysis(ref)
                assert caught.value.status == Status.UNAUTHENTICATED
            finally:
                channel.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
