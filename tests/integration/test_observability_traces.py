"""One join is one trace: HTTP span -> MeetingService.join -> PostgreSQL statements, with the trace id in the
log lines and the error body; a signaling message is a trace of its own; published events carry their
trace context through the Redis stream to the consumer.

OpenTelemetry's tracer provider is process-global and cannot be replaced, so the spans are collected
with its in-memory exporter in a child process (``python -m tests.integration.test_observability_traces
scenario DSN REDIS_URL``) that prints a summary; the rest of the test session keeps the no-op tracer.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
import sys
import uuid
from typing import Any

import asyncpg

from tests.support.netns import RESULT_PREFIX

MODULE = "tests.integration.test_observability_traces"


def _span(s: Any) -> dict[str, Any]:
    parent = s.parent
    return {"name": s.name, "trace": format(s.context.trace_id, "032x"), "id": format(s.context.span_id, "016x"),
            "parent": format(parent.span_id, "016x") if parent is not None else None,
            "kind": s.kind.name, "db": s.attributes.get("db.system") or s.attributes.get("db.system.name"),
            "links": [format(link.context.trace_id, "032x") for link in s.links]}


async def scenario(dsn: str, redis_url: str) -> dict[str, Any]:
    from aiohttp.test_utils import TestClient, TestServer
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from runners.observability import tracing
    from runners.serve import composed
    from runners.settings import Settings
    from runners.web import logs
    from runners.web.app import create_app

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    tracing.instrument_libraries()
    tracing.mark_configured()
    logs.configure("INFO", "json", "confero-test", "i1")
    captured = io.StringIO()
    logging.getLogger().handlers[0].setStream(captured)  # type: ignore[attr-defined]

    settings = Settings.from_env({"APP_ADAPTERS": "production", "APP_POSTGRES_DSN": dsn, "APP_REDIS_URL": redis_url,
                                  "APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_FAST_PASSWORD_HASHING": "false",
                                  "APP_REGISTRATIONS_PER_ADDRESS": "1000", "APP_METRICS_PORT": "0"})
    out: dict[str, Any] = {}
    async with composed(settings) as (_, services):
        client = TestClient(TestServer(create_app(services, settings)))
        await client.start_server()
        try:
            tokens = {}
            for name in ("host", "guest"):
                user = {"username": f"{name}{uuid.uuid4().hex[:6]}", "email": f"{name}{uuid.uuid4().hex[:6]}@x.org",
                        "password": "correct horse 1"}
                assert (await client.post("/api/v1/auth/register", json=user)).status == 201
                r = await client.post("/api/v1/auth/login", json={"username": user["username"],
                                                                  "password": user["password"]})
                tokens[name] = (await r.json())["access_token"]
            r = await client.post("/api/v1/meetings", json={"title": "Traced", "password": "s3cret"},
                                  headers={"Authorization": f"Bearer {tokens['host']}"})
            meeting = (await r.json())["id"]
            await asyncio.sleep(0.5)  # the relay publishes the creation; its spans are not the join's
            exporter.clear()
            captured.seek(0)
            captured.truncate(0)
            r = await client.post(f"/api/v1/meetings/{meeting}/join", json={"password": "s3cret"},
                                  headers={"Authorization": f"Bearer {tokens['guest']}"})
            assert r.status == 200, await r.text()
            out["join"] = [_span(s) for s in exporter.get_finished_spans()]
            out["join_logs"] = [json.loads(line) for line in captured.getvalue().splitlines() if line]
            # The join's event: relayed from the outbox under a producer span, consumed by the signaling feed.
            # Other consumers (webhooks, notifications) may still be finishing older events' spans: wait for
            # a consumer span whose parent is a producer span of this window.
            for _ in range(200):
                spans = exporter.get_finished_spans()
                producer_ids = {s.context.span_id for s in spans if s.name == "publish events"}
                if any(s.name.startswith("consume ") and s.parent is not None and s.parent.span_id in producer_ids
                       for s in spans):
                    break
                await asyncio.sleep(0.1)
            out["events"] = [_span(s) for s in exporter.get_finished_spans()]

            exporter.clear()
            r = await client.post(f"/api/v1/meetings/{uuid.uuid4()}/join", json={"password": "wrong"},
                                  headers={"Authorization": f"Bearer {tokens['guest']}"})
            out["error_body"] = (await r.json())["error"]
            out["error_spans"] = [_span(s) for s in exporter.get_finished_spans()]

            exporter.clear()
            ws = await client.ws_connect("/ws/signaling", headers={"Authorization": f"Bearer {tokens['guest']}"})
            await ws.receive_json()  # welcome
            await ws.send_json({"v": 1, "type": "join_room", "id": "j1", "data": {"room_id": meeting}})
            while (await ws.receive_json())["type"] != "room_state":
                pass
            await ws.send_json({"v": 1, "type": "chat", "id": "c1", "data": {"room_id": str(uuid.uuid4()), "text": "hi"}})
            while (reply := await ws.receive_json()).get("re") != "c1":
                pass
            out["signaling_error"] = reply["data"]
            await ws.close()
            # Replies are queued before the command's span ends: wait for the spans, not for a time.
            for _ in range(200):
                if {"signaling join_room", "signaling chat"} <= {s.name for s in exporter.get_finished_spans()}:
                    break
                await asyncio.sleep(0.05)
            out["signaling"] = [_span(s) for s in exporter.get_finished_spans()]
        finally:
            await client.close()
    return out


def _children(spans: list[dict[str, Any]], parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in spans if s["parent"] == parent["id"]]


def _descendants(spans: list[dict[str, Any]], root: dict[str, Any]) -> list[dict[str, Any]]:
    found, frontier = [], [root]
    while frontier:
        kids = [k for f in frontier for k in _children(spans, f)]
        found += kids
        frontier = kids
    return found


async def _result(postgres_server_dsn: str, redis_server_url: str) -> dict[str, Any]:
    db = f"confero_traces_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        dsn = postgres_server_dsn.rsplit("/", 1)[0] + "/" + db
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", MODULE, "scenario", dsn, redis_server_url,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
        lines = [line for line in stdout.decode().splitlines() if line.startswith(RESULT_PREFIX)]
        assert proc.returncode == 0 and lines, stderr.decode()[-4000:]
        return json.loads(lines[-1][len(RESULT_PREFIX):])
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


async def test_one_join_is_one_trace_from_http_through_the_service_to_postgresql(postgres_server_dsn,
                                                                                 redis_server_url) -> None:
    r = await _result(postgres_server_dsn, redis_server_url)
    # Background work (the relay's polls, socket keep-alives) makes traces of its own meanwhile.
    [root] = [s for s in r["join"] if s["name"] == "POST /api/v1/meetings/{id}/join"]
    assert (root["kind"], root["parent"]) == ("SERVER", None)
    spans = [s for s in r["join"] if s["trace"] == root["trace"]]
    assert sorted(s["id"] for s in _descendants(spans, root)) == sorted(s["id"] for s in spans if s is not root)
    [service] = [s for s in spans if s["name"] == "MeetingService.join"]
    assert service["parent"] == root["id"]
    assert any(s["db"] == "postgresql" for s in _descendants(spans, service)), spans
    authentication = [s for s in _children(spans, root) if s["name"] == "UserService.authenticate"]
    assert authentication and any(s["db"] == "redis" for s in _descendants(spans, authentication[0]))

    # Every log line made during the request carries its trace, service and instance.
    request_lines = [line for line in r["join_logs"] if line.get("request_id")]
    assert request_lines and all(line["trace_id"] == root["trace"] for line in request_lines)
    assert all((line["service"], line["instance"]) == ("confero-test", "i1") for line in r["join_logs"])

    # An error body names the trace next to the request id.
    error = r["error_body"]
    assert error["code"] == "meeting_not_found" and error["request_id"]
    # Background workers (relay, webhooks, notifications, recordings) may finish spans meanwhile: take the request's.
    [error_root] = [s for s in r["error_spans"] if s["name"] == "POST /api/v1/meetings/{id}/join"]
    assert error["trace_id"] == error_root["trace"]

    # A signaling message is its own trace, linked to the socket's.
    signaling = r["signaling"]
    [message] = [s for s in signaling if s["name"] == "signaling join_room"]
    assert message["parent"] is None and message["links"]
    assert any(s["name"] == "RoomService.join" or s["name"].startswith("RoomService.") for s in
               _descendants(signaling, message))

    # A signaling error frame names the trace of the message that failed.
    [chat] = [s for s in signaling if s["name"] == "signaling chat"]
    assert r["signaling_error"]["code"] == "not_in_room"
    assert (r["signaling_error"]["trace_id"], r["signaling_error"]["span_id"]) == (chat["trace"], chat["id"])

    # The join's event is published under a producer span; its consumer's span is that span's child.
    producers = [s for s in r["events"] if s["name"] == "publish events"]
    traces = {p["trace"] for p in producers}
    consumers = [s for s in r["events"] if s["name"].startswith("consume ") and s["trace"] in traces]
    assert producers and consumers, r["events"]
    assert all(c["parent"] in {p["id"] for p in producers} for c in consumers), (producers, consumers)
    # The producer span is the join's own child (the outbox row kept the join's traceparent): the event's
    # publication and consumption are in the join's trace.
    assert any(p["trace"] == root["trace"] and p["parent"] == service["id"] for p in producers), (producers, service)


if __name__ == "__main__":
    if sys.argv[1] == "scenario":
        print(RESULT_PREFIX + json.dumps(asyncio.run(scenario(sys.argv[2], sys.argv[3]))), flush=True)
