"""The production all-in-one stops on SIGTERM promptly and cleanly, every time, with sockets open.

Before: aiohttp waited its 60 s shutdown timeout for every open WebSocket (a handler that never returns
by itself), with the listener already closed and Redis still connected; the signaling cleanup that closes
the sockets only ran after that wait.  And the Redis signal bus's reader, never closed, reconnected when
the Redis client was closed under it and then held asyncio.run's final cancellation (about 1 stop in 3
waited, some for 40 s and more).
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.support.process import process
from tests.support.signaling_client import SignalingClient

STOPS = 8
GOING_AWAY = 1001
BOUND = 25  # seconds: far above a clean stop, far below aiohttp's 60 s default wait


@pytest.fixture
async def production_env(postgres_server_dsn: str, redis_server_url: str):
    db = f"confero_stop_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        yield {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
               "APP_POSTGRES_DSN": postgres_server_dsn.rsplit("/", 1)[0] + "/" + db,
               "APP_REDIS_URL": redis_server_url, "APP_FAST_PASSWORD_HASHING": "false", "APP_LOG_FORMAT": "text"}
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


async def busy(base: str, n: int) -> list[SignalingClient]:
    """A user with a live meeting and two sockets, one of them in the room."""
    async with aiohttp.ClientSession() as s:
        name = f"stop{n}{secrets.token_hex(3)}"
        body = {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}
        assert (await s.post(f"{base}/api/v1/auth/register", json=body)).status == 201
        tokens = await (await s.post(f"{base}/api/v1/auth/login", json={"username": name,
                                                                          "password": body["password"]})).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        meeting = await (await s.post(f"{base}/api/v1/meetings", json={"title": "Stop me"}, headers=auth)).json()
    session = aiohttp.ClientSession()
    ws = base.replace("http", "ws") + "/ws/signaling"
    one = await SignalingClient.connect(session, ws, tokens["access_token"])
    two = await SignalingClient.connect(session, ws, tokens["access_token"], header_auth=True)
    assert (await one.request("join_room", {"room_id": meeting["id"]}))["type"] == "room_state"
    one.session = session  # type: ignore[attr-defined]
    return [one, two]


async def exited(proc: subprocess.Popen[bytes], within: float) -> int | None:
    """The exit code, or None if still running after ``within`` seconds (polled: the loop keeps serving
    the clients meanwhile)."""
    deadline = time.monotonic() + within
    while proc.poll() is None:
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.1)
    return proc.returncode


async def close_code(client: SignalingClient) -> int | None:
    while True:
        msg = await client.ws.receive()
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.ERROR):
            return client.ws.close_code


async def test_sigterm_stops_the_production_all_in_one_cleanly_every_time(tmp_path: Path, production_env) -> None:
    for n in range(STOPS):
        log_path = tmp_path / f"run{n}.log"
        with process(production_env, log_path, timeout=30) as (base, proc):
            clients = await busy(base, n) if n % 3 != 2 else []  # and some stops with nothing open
            # The clients answer the close handshake, except in the last stop: a client that has gone
            # silent must not hold the process either.
            silent = n == STOPS - 1
            readers = [] if silent else [asyncio.create_task(close_code(c)) for c in clients]
            proc.send_signal(signal.SIGTERM)
            code = await exited(proc, BOUND)
            if code is None:
                pytest.fail(f"stop {n}: still running {BOUND} s after SIGTERM; see {log_path}")
            assert await asyncio.gather(*readers) == [GOING_AWAY] * len(readers)
            if clients:
                await clients[0].session.close()  # type: ignore[attr-defined]
        assert code == 0, f"stop {n}: exit code {code}; see {log_path}"
        text = log_path.read_text(errors="replace")
        assert "Traceback" not in text and " ERROR " not in text, f"stop {n}: see {log_path}"
        assert "still stopping" not in text, f"stop {n} waited for something: see {log_path}"
