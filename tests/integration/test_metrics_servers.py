"""Metrics and readiness against real servers: the Redis stream consumer's lag and dead letters; the S3
and MongoDB readiness probes up and down; `python -m runners.ai` answering /ready 503 naming Triton when
its Triton is unreachable (every other dependency up); `python -m runners.gateway` serving /metrics on
its own port only; a service process and the gateway unready naming etcd once their registry dies; the
gateway's registry reading under APP_ETCD_PREFIX, where the services register."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import uuid

import aiohttp
import asyncpg
import pytest
from prometheus_client import REGISTRY

from adapters.mongo.analysis import MongoAnalysisStore
from adapters.mongo.client import open_database
from adapters.redis.events import RedisStreamEventPublisher, RedisStreamSubscriber
from adapters.s3.blobs import S3BlobStore, open_s3_blob_store
from domain.meetings.events import MeetingCreated
from domain.shared.errors import Unavailable
from runners.observability.registry import Observability
from tests.integration.redis_fixtures import redis_client, redis_prefix  # noqa: F401  (fixtures)
from tests.support.process import allinone, free_port


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_stream_consumer_records_each_events_lag_and_counts_its_dead_letters(redis_client,  # noqa: F811
                                                                                        redis_prefix) -> None:  # noqa: F811
    stream = f"{redis_prefix}events"
    publisher = RedisStreamEventPublisher(redis_client, stream)
    subscriber = RedisStreamSubscriber(redis_client, stream, "metrics", "c-1", max_attempts=2)
    await subscriber.ensure_group()
    lag_count, lag_sum = value("confero_event_consume_lag_seconds_count"), value("confero_event_consume_lag_seconds_sum")
    dead = value("confero_events_dead_lettered_total")

    async def handler(event: MeetingCreated) -> None:
        if event.meeting_id == "poison":
            raise RuntimeError("cannot handle it")

    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)
    await publisher.publish(MeetingCreated(occurred_at=old, meeting_id="m-1", host_id="u-1"))
    assert await subscriber.poll(handler) == 1
    assert value("confero_event_consume_lag_seconds_count") == lag_count + 1
    assert value("confero_event_consume_lag_seconds_sum") - lag_sum >= 30.0

    await publisher.publish(MeetingCreated(occurred_at=old, meeting_id="poison", host_id="u-1"))
    with pytest.raises(RuntimeError):
        await subscriber.poll(handler)  # first failure: left pending, retried
    await subscriber.poll(handler)  # second: dead-lettered and acknowledged
    assert value("confero_events_dead_lettered_total") == dead + 1
    assert await redis_client.xlen(subscriber.dead_stream) == 1
    assert value("confero_event_consume_lag_seconds_count") == lag_count + 1  # a dead letter is no consumption


async def test_the_s3_and_mongodb_probes_are_up_against_their_servers_and_down_against_a_dead_port(
        s3_endpoint, mongo_server_url) -> None:
    dead = f"127.0.0.1:{free_port()}"
    probes = Observability()
    async with open_s3_blob_store(endpoint=s3_endpoint, bucket=f"ready-{uuid.uuid4().hex[:10]}", region="us-east-1",
                                  access_key="test", secret_key="test") as blobs, \
            open_database(mongo_server_url, f"ready_{uuid.uuid4().hex[:8]}") as db:
        probes.add_check("s3", blobs.ping)
        probes.add_check("mongodb", MongoAnalysisStore(db).ping)
        ok, report = await probes.readiness()
        assert ok and {n: r["status"] for n, r in report.items()} == {"s3": "up", "mongodb": "up"}

        # The same adapters on servers that are gone: a bucket that vanished, a client on a dead port.
        gone = S3BlobStore(blobs._s3, f"missing-{uuid.uuid4().hex[:10]}")
        with pytest.raises(Exception):  # BlobNotFound (404) or Unavailable: either way the probe fails
            await gone.ping()
        from motor.motor_asyncio import AsyncIOMotorClient

        lost = AsyncIOMotorClient(f"mongodb://{dead}/?directConnection=true", serverSelectionTimeoutMS=500)
        try:
            with pytest.raises(Unavailable):
                await MongoAnalysisStore(lost["x"]).ping()
            down = Observability()
            down.add_check("s3", gone.ping)
            down.add_check("mongodb", MongoAnalysisStore(lost["x"]).ping)
            ok, report = await down.readiness()
        finally:
            lost.close()
    assert not ok and {n: r["status"] for n, r in report.items()} == {"s3": "down", "mongodb": "down"}
    assert dead not in str(report) and s3_endpoint not in str(report)  # no address in the report


async def test_the_ai_process_is_unready_naming_triton_when_its_triton_is_unreachable(
        tmp_path, postgres_server_dsn, redis_server_url, mongo_server_url, s3_endpoint) -> None:
    db = f"confero_aiready_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    metrics_port = free_port()
    try:
        env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
               "APP_POSTGRES_DSN": postgres_server_dsn.rsplit("/", 1)[0] + "/" + db, "APP_REDIS_URL": redis_server_url,
               "APP_MONGO_URL": mongo_server_url, "APP_MONGO_DATABASE": db,
               "APP_S3_ENDPOINT": s3_endpoint, "APP_S3_BUCKET": f"aiready-{uuid.uuid4().hex[:10]}",
               "APP_S3_ACCESS_KEY": "test", "APP_S3_SECRET_KEY": "test",
               "APP_TRITON_URLS": f"grpc://127.0.0.1:{free_port()}", "APP_TRITON_HEALTH_INTERVAL": "0.5",
               "APP_AI_GRPC_PORT": str(free_port()), "APP_METRICS_PORT": str(metrics_port)}
        with allinone(env, tmp_path / "ai.log", module="runners.ai", timeout=60, port_variable="APP_AI_PORT") as base:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{base}/ready") as r:
                    status, body = r.status, await r.json()
                async with s.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                    metrics = await r.text()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    assert status == 503 and body["status"] == "unready"
    assert {n: c["status"] for n, c in body["checks"].items()} == {
        "postgresql": "up", "redis": "up", "s3": "up", "mongodb": "up", "triton": "down"}
    assert 'confero_ai_jobs{state="waiting"} 0.0' in metrics and "confero_ai_job_duration_seconds_bucket" in metrics


async def test_the_gateway_process_serves_its_metrics_on_their_own_port_only(tmp_path) -> None:
    secret = secrets.token_urlsafe(40)
    metrics_port = free_port()
    env = {"APP_JWT_SECRET": secret, "APP_GATEWAY_UPSTREAMS": f"meetings=127.0.0.1:{free_port()}",
           "APP_METRICS_PORT": str(metrics_port)}
    with allinone(env, tmp_path / "gateway.log", module="runners.gateway", port_variable="APP_GATEWAY_PORT") as base:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{base}/ready") as r:
                assert r.status == 200
            async with s.get(f"{base}/api/v1/meetings/mine") as r:
                assert r.status == 401  # refused at the edge: no token
            async with s.get(f"{base}/metrics") as r:
                public = r.status
            async with s.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                metrics = await r.text()
    assert public == 404
    # /health (polled at start) and /ready are the gateway's own; the refused request was for meetings; the
    # public /metrics is an unknown path ("other").
    assert 'confero_gateway_requests_total{method="GET",service="gateway",status_class="2xx"}' in metrics
    assert 'confero_gateway_requests_total{method="GET",service="meetings",status_class="4xx"} 1.0' in metrics
    assert 'confero_gateway_requests_total{method="GET",service="other",status_class="4xx"} 1.0' in metrics
    assert "confero_gateway_request_duration_seconds_bucket" in metrics


async def test_a_service_process_is_unready_naming_etcd_once_its_registry_dies(tmp_path) -> None:
    from tests.support.servers import PrivateEtcd

    etcd = PrivateEtcd()
    etcd.start()
    try:
        env = {"APP_ETCD_URL": etcd.url, "APP_ETCD_PREFIX": f"/ready-{uuid.uuid4().hex[:8]}/",
               "APP_METRICS_PORT": "0", "APP_DRAIN_SECONDS": "0", "APP_SHUTDOWN_TIMEOUT": "2"}
        with allinone(env, tmp_path / "notifications.log", timeout=40, module="runners.notifications") as base:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{base}/ready") as r:
                    up = (r.status, await r.json())
                etcd.kill()
                async with s.get(f"{base}/ready") as r:
                    down = (r.status, await r.json())
                async with s.get(f"{base}/health") as r:
                    alive = r.status
    finally:
        etcd.destroy()
    assert up[0] == 200 and up[1]["checks"]["etcd"]["status"] == "up"
    assert down[0] == 503 and down[1]["checks"]["etcd"]["status"] == "down"
    assert str(etcd.port) not in str(down[1]) and alive == 200


async def test_the_gateway_is_unready_naming_etcd_once_its_registry_dies(tmp_path) -> None:
    from tests.support.servers import PrivateEtcd

    etcd = PrivateEtcd()
    etcd.start()
    try:
        env = {"APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_ETCD_URL": etcd.url,
               "APP_ETCD_PREFIX": f"/ready-{uuid.uuid4().hex[:8]}/", "APP_METRICS_PORT": "0",
               "APP_SHUTDOWN_TIMEOUT": "2"}
        with allinone(env, tmp_path / "gateway.log", timeout=40, module="runners.gateway",
                      port_variable="APP_GATEWAY_PORT") as base:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{base}/ready") as r:
                    up = (r.status, await r.json())
                etcd.kill()
                async with s.get(f"{base}/ready") as r:
                    down = (r.status, await r.json())
    finally:
        etcd.destroy()
    assert up[0] == 200 and {n: c["status"] for n, c in up[1]["checks"].items()} == {"registry": "up", "etcd": "up"}
    assert down[0] == 503 and down[1]["checks"]["etcd"]["status"] == "down"
    assert down[1]["checks"]["registry"]["status"] == "up"  # it answered once; the last view still routes


async def test_the_gateways_etcd_registry_reads_under_the_prefix_the_services_register_under(etcd_server_url) -> None:
    from adapters.etcd.client import open_etcd
    from adapters.etcd.discovery import EtcdServiceRegistry
    from adapters.system.clock import SystemClock
    from domain.discovery.model import ServiceInstance
    from runners.gateway.container import service_registry
    from runners.settings import Settings

    prefix = f"/gw-{uuid.uuid4().hex[:8]}/"
    settings = Settings.from_env({"APP_ETCD_URL": etcd_server_url, "APP_ETCD_PREFIX": prefix})
    async with open_etcd(etcd_server_url) as client:
        service = EtcdServiceRegistry(client, prefix=prefix)  # as runners.discovery registers a service
        await service.register(ServiceInstance("meetings", "m-1", http="10.0.0.5:8082"), dt.timedelta(seconds=30))
        try:
            async with contextlib.asynccontextmanager(service_registry)(settings, SystemClock()) as gateway_view:
                seen = await gateway_view.instances("meetings")
        finally:
            await service.close()
    assert [(i.instance_id, i.http) for i in seen] == [("m-1", "10.0.0.5:8082")]


async def test_the_stream_groups_pending_and_undelivered_entries_are_read_at_scrape(redis_client,  # noqa: F811
                                                                                    redis_prefix) -> None:  # noqa: F811
    from adapters.redis.observed import stream_groups

    stream = f"{redis_prefix}events"
    publisher = RedisStreamEventPublisher(redis_client, stream)
    subscriber = RedisStreamSubscriber(redis_client, stream, "scrape-group", "c-1", batch=2)
    await subscriber.ensure_group()
    for n in range(5):
        await publisher.publish(MeetingCreated(occurred_at=dt.datetime.now(dt.timezone.utc), meeting_id=f"m-{n}",
                                               host_id="u-1"))

    async def stuck(event: MeetingCreated) -> None:
        raise RuntimeError("not now")

    with pytest.raises(RuntimeError):
        await subscriber.poll(stuck)  # two entries handed over, none acknowledged
    await stream_groups(redis_client, stream)
    assert value("confero_event_stream_pending_entries", group="scrape-group") == 2
    assert value("confero_event_stream_lag_entries", group="scrape-group") == 3

    async def fine(event: MeetingCreated) -> None:
        pass

    while await subscriber.poll(fine):
        pass
    await stream_groups(redis_client, stream)
    assert value("confero_event_stream_pending_entries", group="scrape-group") == 0
    assert value("confero_event_stream_lag_entries", group="scrape-group") == 0
    await stream_groups(redis_client, f"{redis_prefix}nothing")  # no stream yet: no error, nothing set
