"""One request through the split services is one trace across processes (issue 15): the gateway, the
meetings service's HTTP handler, its gRPC call to the users service (token check), the users service's
handling of it and the PostgreSQL statements, each process exporting its spans over OTLP/HTTP to a
receiver this test runs, with every parent link pointing at the span that caused it."""

from __future__ import annotations

import contextlib
import random
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.support.otlp import OtlpReceiver
from tests.support.process import free_port, process
from tests.support.scripted import Api

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"
AUTHENTICATE = "confero.users.v1.UsersService/Authenticate"


@contextlib.asynccontextmanager
async def _database(postgres_server_dsn: str) -> AsyncIterator[str]:
    name = f"confero_traces_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server_dsn.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _ancestors(spans: dict[str, dict[str, Any]], span: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    while span["parent"] in spans:
        span = spans[span["parent"]]
        found.append(span)
    return found


def _complete(root_name: str):  # type: ignore[no-untyped-def]
    """The condition: the gateway's span of the request, and in its trace the users service's gRPC span, a
    PostgreSQL statement of the meetings service, and every span's parent (each process sends its batches
    on its own, and a parent ends, so is sent, after its children)."""
    def condition(spans: list[dict[str, Any]]) -> bool:
        for root in (s for s in spans if s["service"] == "confero-gateway" and s["name"] == root_name):
            same = {s["id"]: s for s in spans if s["trace"] == root["trace"]}
            if any(s["service"] == "confero-users" and s["name"] == AUTHENTICATE for s in same.values()) and \
                    any(s["service"] == "confero-meetings" and _db(s)["db"] for s in same.values()) and \
                    all(s["parent"] in same for s in same.values() if s is not root):
                return True
        return False
    return condition


def _db(span: dict[str, Any]) -> dict[str, Any]:
    attributes = span["attributes"]
    return {"db": attributes.get("db.system") or attributes.get("db.system.name")}


async def test_one_request_through_the_gateway_is_one_trace_across_the_services(
        tmp_path, postgres_server_dsn, redis_server_url) -> None:
    users_grpc = free_port()
    redis_url = f"{redis_server_url.rsplit('/', 1)[0]}/{random.randint(1, 15)}"
    jwt = secrets.token_urlsafe(40)
    async with _database(postgres_server_dsn) as data, OtlpReceiver() as receiver:
        common = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": jwt, "APP_SERVICE_SECRETS": secrets.token_urlsafe(40),
                  "APP_REDIS_URL": redis_url, "APP_POSTGRES_DSN": data, "APP_METRICS_PORT": "0",
                  "APP_USERS_GRPC_PORT": str(users_grpc), "APP_MEETINGS_GRPC_PORT": str(free_port()),
                  # Tracing on (off by default), batches sent every 100 ms.
                  "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        with contextlib.ExitStack() as stack:
            users, _ = stack.enter_context(process(
                common, tmp_path / "users.log", timeout=40, module="runners.users", port_variable="APP_USERS_PORT"))
            # The meetings service checks every token with the users service over gRPC.
            meetings, _ = stack.enter_context(process(
                common | {"APP_USERS_GRPC_TARGET": f"127.0.0.1:{users_grpc}"}, tmp_path / "meetings.log",
                timeout=40, module="runners.meetings", port_variable="APP_MEETINGS_PORT"))
            upstreams = f"users={users.removeprefix('http://')},meetings={meetings.removeprefix('http://')}"
            gateway, _ = stack.enter_context(process(
                {"APP_JWT_SECRET": jwt, "APP_GATEWAY_UPSTREAMS": upstreams, "APP_METRICS_PORT": "0",
                 "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"},
                tmp_path / "gateway.log", timeout=40, module="runners.gateway", port_variable="APP_GATEWAY_PORT"))

            async with aiohttp.ClientSession() as s:
                api = Api(s, gateway)
                user = {"username": f"ann{uuid.uuid4().hex[:6]}", "password": PASSWORD}
                status, _ = await api.call("POST", "/api/v1/auth/register",
                                           json=user | {"email": f"{user['username']}@example.com"})
                assert status == 201
                status, tokens = await api.call("POST", "/api/v1/auth/login", json=user)
                assert status == 200
                status, meeting = await api.call("POST", "/api/v1/meetings", tokens["access_token"], {"title": "Traced"})
                assert status == 201, meeting

            with contextlib.suppress(TimeoutError):  # what is missing then, the assertions below say
                await receiver.until(_complete("POST /api/v1/meetings"))

    # Other traces (the login, the outbox relay's polls) arrive too: the creation's is the gateway's span's.
    [root] = [s for s in receiver.spans if s["service"] == "confero-gateway" and s["name"] == "POST /api/v1/meetings"]
    assert (root["kind"], root["parent"]) == ("SERVER", None)
    trace = {s["id"]: s for s in receiver.spans if s["trace"] == root["trace"]}
    # One trace: every span but the root has its parent in it.
    orphans = [s for s in trace.values() if s is not root and s["parent"] not in trace]
    assert not orphans, (orphans, list(trace.values()))

    # gateway -> meetings' HTTP span -> (its token check) gRPC client span -> users' gRPC server span.
    [handler] = [s for s in trace.values() if s["service"] == "confero-meetings" and s["kind"] == "SERVER"
                 and s["name"] == "POST /api/v1/meetings"]
    assert handler["parent"] == root["id"]
    [client] = [s for s in trace.values() if s["kind"] == "CLIENT" and s["name"] == AUTHENTICATE]
    assert client["service"] == "confero-meetings" and handler in _ancestors(trace, client)
    [served] = [s for s in trace.values() if s["kind"] == "SERVER" and s["name"] == AUTHENTICATE]
    assert served["service"] == "confero-users" and served["parent"] == client["id"]
    assert served["attributes"]["rpc.grpc.status_code"] == 0

    # The meeting's INSERT is a PostgreSQL span under the meetings service's handler.
    statements = [s for s in trace.values() if _db(s)["db"] == "postgresql" and s["service"] == "confero-meetings"]
    assert statements and all(handler in _ancestors(trace, s) for s in statements)
    assert {s["service"] for s in trace.values()} >= {"confero-gateway", "confero-meetings", "confero-users"}
