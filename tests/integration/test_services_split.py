"""Users, meetings and two signaling processes as separate processes (issue 14): each registers itself in
etcd with its addresses (one signaling process finds users and meetings there, the other is given
their addresses); a meeting's members on the two signaling processes are admitted by the meetings
service over gRPC and chat; a killed signaling process disappears after its TTL, a stopped one at once
(shown draining first).

The signaling processes get no database at all (no APP_POSTGRES_DSN) and a JWT key of their own: they can
only admit members, check tokens, and tell a joining member about captions and a running recording
through the meetings and users services."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import secrets
import signal
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest

from adapters.etcd.client import open_etcd
from adapters.postgres.recordings import PostgresRecordingRepository
from adapters.etcd.discovery import EtcdServiceRegistry
from domain.discovery.model import ServiceInstance
from domain.recordings.model import Recording
from domain.shared.ids import MeetingId, RecordingId, UserId, new_id
from tests.support.process import free_port, process
from tests.support.scripted import Api
from tests.support.signaling_client import SignalingClient

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"
SETTLE = 30.0  # bound of every wait for the registry to show a change (never a timing assertion)


@contextlib.asynccontextmanager
async def _database(postgres_server_dsn: str) -> AsyncIterator[str]:
    name = f"confero_split_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server_dsn.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _hostport(base: str) -> str:
    return urlsplit(base).netloc


async def _own(registry: EtcdServiceRegistry, service: str, run: str) -> dict[str, ServiceInstance]:
    """This run's instances of ``service`` (other runs may share the etcd)."""
    return {i.instance_id: i for i in await registry.instances(service) if i.instance_id.startswith(run)}


async def _until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(SETTLE):
        while not await condition():
            await asyncio.sleep(0.2)


async def _user(api: Api, name: str) -> str:
    body = {"username": f"{name}{uuid.uuid4().hex[:6]}", "password": PASSWORD}
    status, _ = await api.call("POST", "/api/v1/auth/register", json=body | {"email": f"{body['username']}@example.com"})
    assert status == 201
    status, tokens = await api.call("POST", "/api/v1/auth/login", json=body)
    assert status == 200
    return tokens["access_token"]


async def test_services_as_processes_register_admit_over_grpc_and_leave_the_registry(
        tmp_path, postgres_server_dsn, redis_server_url, etcd_server_url):
    run = f"t{uuid.uuid4().hex[:8]}"
    users_grpc, meetings_grpc = free_port(), free_port()
    # A Redis database of its own (1-15): other runs' processes would consume this run's meeting events.
    redis_url = f"{redis_server_url.rsplit('/', 1)[0]}/{random.randint(1, 15)}"
    async with _database(postgres_server_dsn) as data, open_etcd(etcd_server_url) as etcd:
        prefix = f"/confero-test/{run}/"  # a registry of this run's own in the shared etcd
        registry = EtcdServiceRegistry(etcd, prefix=prefix)
        common = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
                  "APP_SERVICE_SECRETS": secrets.token_urlsafe(40), "APP_REDIS_URL": redis_url,
                  "APP_ETCD_URL": etcd_server_url, "APP_ETCD_PREFIX": prefix, "APP_METRICS_PORT": "0", "APP_LOG_LEVEL": "INFO",
                  "APP_USERS_GRPC_PORT": str(users_grpc), "APP_MEETINGS_GRPC_PORT": str(meetings_grpc),
                  "APP_DRAIN_SECONDS": "0.5"}
        # Another JWT key too: only the users service can tell whether a token is good.
        callers = {"APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_USERS_GRPC_TARGET": f"127.0.0.1:{users_grpc}",
                   "APP_MEETINGS_GRPC_TARGET": f"127.0.0.1:{meetings_grpc}"}
        with contextlib.ExitStack() as stack:
            users, _ = stack.enter_context(process(
                common | {"APP_POSTGRES_DSN": data, "APP_INSTANCE_ID": f"{run}-users"}, tmp_path / "users.log",
                timeout=40, module="runners.users", port_variable="APP_USERS_PORT"))
            meetings, _ = stack.enter_context(process(
                common | {"APP_POSTGRES_DSN": data, "APP_INSTANCE_ID": f"{run}-meetings",
                          "APP_USERS_GRPC_TARGET": f"127.0.0.1:{users_grpc}"}, tmp_path / "meetings.log",
                timeout=40, module="runners.meetings", port_variable="APP_MEETINGS_PORT"))
            # sig-1 is killed: a short lease.  sig-2 is stopped: a lease far longer than the test, so only its
            # deregistration can make it go.
            one, one_proc = stack.enter_context(process(
                common | callers | {"APP_INSTANCE_ID": f"{run}-sig-1", "APP_REGISTRY_TTL": "2"},
                tmp_path / "sig1.log", timeout=40, module="runners.signaling", port_variable="APP_SIGNALING_PORT"))
            # sig-2 finds users and meetings in the registry.
            two, two_proc = stack.enter_context(process(
                common | callers | {"APP_INSTANCE_ID": f"{run}-sig-2", "APP_REGISTRY_TTL": "300",
                                    "APP_USERS_GRPC_TARGET": "etcd", "APP_MEETINGS_GRPC_TARGET": "etcd"},
                tmp_path / "sig2.log", timeout=40, module="runners.signaling", port_variable="APP_SIGNALING_PORT"))

            # Each registered itself, with the addresses it serves at.
            assert await _own(registry, "users", run) == {f"{run}-users": ServiceInstance(
                "users", f"{run}-users", http=_hostport(users), grpc=f"127.0.0.1:{users_grpc}")}
            assert await _own(registry, "meetings", run) == {f"{run}-meetings": ServiceInstance(
                "meetings", f"{run}-meetings", http=_hostport(meetings), grpc=f"127.0.0.1:{meetings_grpc}")}
            assert await _own(registry, "signaling", run) == {
                f"{run}-sig-1": ServiceInstance("signaling", f"{run}-sig-1", http=_hostport(one)),
                f"{run}-sig-2": ServiceInstance("signaling", f"{run}-sig-2", http=_hostport(two))}

            async with aiohttp.ClientSession() as s:
                async with s.get(f"{one}/ready") as r:
                    body = await r.json()
                    assert r.status == 200 and body["checks"]["etcd"]["status"] == "up", body

                accounts = Api(s, users)
                ann, bob = await _user(accounts, "ann"), await _user(accounts, "bob")
                status, meeting = await Api(s, meetings).call("POST", "/api/v1/meetings", ann, {"title": "Split"})
                assert status == 201, meeting
                room = meeting["id"]

                a = await SignalingClient.connect(s, one + "/ws/signaling", ann)  # token checked by users
                b = await SignalingClient.connect(s, two + "/ws/signaling", bob)  # users found in etcd
                joined = await a.request("join_room", {"room_id": room})  # admitted by meetings
                assert joined["type"] == "room_state", joined
                assert joined["data"]["self"]["role"] == "host" and joined["data"]["members"] == []
                joined = await b.request("join_room", {"room_id": room})  # meetings found in etcd
                assert joined["type"] == "room_state", joined
                assert [m["user_id"] for m in joined["data"]["members"]] == [a.user_id]
                assert (await a.next("member_joined"))["data"]["user_id"] == b.user_id
                await b.request("chat", {"room_id": room, "text": "hello from the other process"})
                assert (await a.next("chat"))["data"]["text"] == "hello from the other process"
                nowhere = await a.request("join_room", {"room_id": str(uuid.uuid4())})
                assert nowhere["type"] == "error", nowhere  # the meetings service knows no such meeting

                # Captions and a running recording: what a member joining a process without a database is told
                # comes from the meetings service.
                carol = await _user(accounts, "carol")
                status, _ = await Api(s, meetings).call("POST", f"/api/v1/meetings/{room}/captions/on", ann)
                assert status == 200
                assert (await a.next("captions"))["data"]["on"] is True  # the meeting event, from either process
                assert (await b.next("captions"))["data"]["on"] is True
                recording = await _running_recording(data, room, a.user_id)
                c = await SignalingClient.connect(s, two + "/ws/signaling", carol)
                joined = await c.request("join_room", {"room_id": room})
                assert joined["type"] == "room_state", joined
                assert joined["data"]["captions"]["on"] is True
                assert joined["data"]["recording"]["recording_id"] == recording
                assert joined["data"]["recording"]["started_by"] == a.user_id
                status, _ = await Api(s, meetings).call("POST", f"/api/v1/meetings/{room}/captions/off", ann)
                assert status == 200
                assert (await c.next("captions"))["data"]["on"] is False
                await c.request("leave_room", {"room_id": room})
                joined = await c.request("join_room", {"room_id": room})
                assert joined["data"]["captions"]["on"] is False
                with contextlib.suppress(Exception):
                    await a.close()
                    await b.close()
                    await c.close()

            # SIGTERM: shown draining, then gone as soon as the process has exited.
            seen: list[ServiceInstance | None] = []
            async with registry.watch("signaling") as snapshots:
                first = await anext(snapshots)
                assert first.get(f"{run}-sig-2") is not None
                two_proc.send_signal(signal.SIGTERM)
                async with asyncio.timeout(SETTLE):
                    async for snapshot in snapshots:
                        seen.append(snapshot.get(f"{run}-sig-2"))
                        if seen[-1] is None:
                            break
            assert await asyncio.to_thread(two_proc.wait, SETTLE) == 0
            assert f"{run}-sig-2" not in await _own(registry, "signaling", run)
            assert any(i is not None and i.draining for i in seen), seen

            # kill -9: nobody deregisters; the lease runs out.
            one_proc.send_signal(signal.SIGKILL)
            one_proc.wait()
            await _until(lambda: _own_without(registry, run, f"{run}-sig-1"), "sig-1 gone")
            assert set(await _own(registry, "users", run)) == {f"{run}-users"}


async def _running_recording(dsn: str, room: str, by: str) -> str:
    """A recording in progress in the meetings service's database, as a recording process would leave it."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        now = dt.datetime.now(dt.UTC)
        made = Recording.begin(recording_id=RecordingId(new_id()), meeting_id=MeetingId(room), started_by=UserId(by),
                               now=now)
        made.recorder_started(now=now)
        await PostgresRecordingRepository(pool).add(made)
        return made.id
    finally:
        await pool.close()


async def _own_without(registry: EtcdServiceRegistry, run: str, instance_id: str) -> bool:
    return instance_id not in await _own(registry, "signaling", run)
