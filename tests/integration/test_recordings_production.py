"""Recording on the production family: PostgreSQL, Redis and a real S3 server (moto_server), through
the HTTP API; the media server's recorder is replaced by the in-test one (no media here: the SFU's
recorder is exercised by tests/integration/test_recording_media.py)."""

from __future__ import annotations

import secrets
import uuid

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from adapters.s3.blobs import S3BlobStore
from runners.recording import UnconfiguredRecorder
from runners.serve import composed
from runners.settings import Settings
from runners.web.app import create_app
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401
from tests.support.recording_fakes import FakeProcessor, FakeRoomRecorder


async def _login(client: TestClient, name: str) -> dict:
    reg = await client.post("/api/v1/auth/register", json={"username": name, "email": f"{name}@example.com",
                                                           "password": "correct horse battery staple"})
    assert reg.status == 201, await reg.text()
    r = await client.post("/api/v1/auth/login", json={"username": name, "password": "correct horse battery staple"})
    body = await r.json()
    assert r.status == 200, body
    return {"Authorization": f"Bearer {body['access_token']}"}


async def test_a_recording_lands_in_s3_and_downloads_through_a_presigned_link(
        postgres_dsn, pg_pool, redis_server_url, s3_endpoint):  # noqa: F811
    bucket = f"confero-prod-{uuid.uuid4().hex[:10]}"
    settings = Settings.from_env({
        "APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_LOG_LEVEL": "CRITICAL",
        "APP_POSTGRES_DSN": postgres_dsn, "APP_REDIS_URL": redis_server_url, "APP_S3_ENDPOINT": s3_endpoint,
        "APP_S3_BUCKET": bucket, "APP_S3_ACCESS_KEY": "test-key", "APP_S3_SECRET_KEY": "test-secret",
        "APP_REGISTRATIONS_PER_ADDRESS": "100000"})  # the shared Redis counts every test run's registrations
    async with composed(settings) as (_, services), \
            TestClient(TestServer(create_app(services, settings))) as client:
        service = services.recordings
        assert isinstance(service.blobs, S3BlobStore) and service.blobs.bucket == bucket
        host = await _login(client, f"h{uuid.uuid4().hex[:8]}")
        meeting = await (await client.post("/api/v1/meetings", json={"title": "Rec"}, headers=host)).json()
        await client.post(f"/api/v1/meetings/{meeting['id']}/join", json={}, headers=host)

        service.recorder = UnconfiguredRecorder()  # the composed one is the SFU's: first a recorder that refuses
        refused = await client.post("/api/v1/recordings", json={"meeting_id": meeting["id"]}, headers=host)
        assert refused.status == 503 and "recorder not configured" in (await refused.json())["error"]["message"]

        service.recorder = FakeRoomRecorder(service.blobs)
        service.processor = FakeProcessor(service.blobs)
        started = await client.post("/api/v1/recordings", json={"meeting_id": meeting["id"]}, headers=host)
        rec = await started.json()
        assert started.status == 201 and rec["state"] == "recording", rec
        stop = await client.post(f"/api/v1/recordings/{rec['id']}/stop", headers=host)
        assert stop.status == 200
        await service.drain()
        got = await (await client.get(f"/api/v1/recordings/{rec['id']}", headers=host)).json()
        assert got["state"] == "completed" and len(got["files"]) == 3
        async with aiohttp.ClientSession() as http:
            for f in got["files"]:
                assert f["download_url"].startswith(s3_endpoint)
                async with http.get(f["download_url"]) as reply:
                    assert reply.status == 200 and len(await reply.read()) == f["size"]
        listed = await (await client.get(f"/api/v1/meetings/{meeting['id']}/recordings", headers=host)).json()
        assert [r["state"] for r in listed["items"]] == ["completed", "failed"]
        deleted = await client.delete(f"/api/v1/recordings/{rec['id']}", headers=host)
        assert deleted.status == 204
        assert await service.blobs.list(f"recordings/{meeting['id']}/{rec['id']}/") == []
        rows = await pg_pool.fetch("SELECT name FROM outbox WHERE name LIKE 'recording.%' ORDER BY position")
        assert [r["name"] for r in rows] == ["recording.failed", "recording.started", "recording.stopped",
                                             "recording.completed", "recording.deleted"]
