"""Redis going away: calls fail fast with Unavailable, recover without a new client, and events held
by a consumer that died are delivered to another consumer of its group."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis

from adapters.redis.client import open_redis
from adapters.redis.events import RedisStreamEventPublisher, RedisStreamSubscriber
from adapters.redis.sessions import RedisSessionStore
from domain.shared.errors import Unavailable
from domain.shared.ids import UserId, new_id
from confero_contracts.events import happened
from confero_contracts.sessions import a_session
from tests.integration.redis_fixtures import redis_client, redis_prefix  # noqa: F401

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FAST = 2.0  # seconds: an outage must surface well within a request's budget


class PrivateRedis:
    """A throw-away redis-server on its own port, controlled by PID only."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while True:
            try:
                with SyncRedis(port=self.port, socket_timeout=0.2) as probe:
                    probe.ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test froze it
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def session_calls(store: RedisSessionStore, now: dt.datetime):
    session = a_session(now)
    return {
        "create": lambda: store.create(session),
        "get": lambda: store.get(session.id, now),
        "rotate": lambda: store.rotate(session.id, session.refresh_token_id, new_id(), now, now),
        "revoke": lambda: store.revoke(session.id),
        "revoke_user": lambda: store.revoke_user(UserId(session.user_id), 1),
    }


async def assert_every_call_fails_fast(store: RedisSessionStore) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    for name, call in session_calls(store, now).items():
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await asyncio.wait_for(call(), timeout=10)
        assert time.monotonic() - started < FAST, name


async def test_with_the_server_stopped_every_session_call_raises_unavailable_quickly(private_redis):
    async with open_redis(private_redis.url) as client:
        store = RedisSessionStore(client)
        now = dt.datetime.now(dt.timezone.utc)
        await store.create(a_session(now))  # the pool now holds a connection that is about to die
        private_redis.stop()
        await assert_every_call_fails_fast(store)


async def test_after_a_restart_on_the_same_port_the_same_client_works_again(private_redis):
    async with open_redis(private_redis.url) as client:
        store = RedisSessionStore(client)
        now = dt.datetime.now(dt.timezone.utc)
        await store.create(a_session(now))
        private_redis.stop()
        with pytest.raises(Unavailable):
            await store.get(new_id(), now)
        private_redis.start()
        session = a_session(now)
        await store.create(session)
        assert await store.get(session.id, now) == session
        assert await store.revoke_user(session.user_id, 1) == 1


async def test_a_frozen_server_times_out_instead_of_hanging(private_redis):
    async with open_redis(private_redis.url) as client:
        store = RedisSessionStore(client)
        now = dt.datetime.now(dt.timezone.utc)
        session = a_session(now)
        await store.create(session)
        private_redis.proc.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(Unavailable):
                await asyncio.wait_for(store.get(session.id, now), timeout=10)
            assert time.monotonic() - started < 1.5  # one socket timeout, not retried
        finally:
            private_redis.proc.send_signal(signal.SIGCONT)
        assert await store.get(session.id, now) == session


# -- at-least-once across a consumer crash ------------------------------------------------------------

CRASHING_CONSUMER = textwrap.dedent("""
    import asyncio, sys
    from adapters.redis.client import open_redis
    from adapters.redis.events import RedisStreamSubscriber
    import confero_contracts.events  # registers the test event class, so entries decode

    async def main(url, stream):
        async with open_redis(url) as client:
            sub = RedisStreamSubscriber(client, stream, "workers", "doomed")

            async def handler(event):
                print("handling", event.n, flush=True)
                await asyncio.Event().wait()  # never finishes: the process is killed here

            await sub.poll(handler)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


async def test_events_held_by_a_crashed_consumer_are_delivered_to_another(redis_client, redis_prefix,
                                                                        redis_server_url):
    stream = f"{redis_prefix}events"
    published = [happened(1), happened(2), happened(3)]
    await RedisStreamEventPublisher(redis_client, stream=stream).publish(*published)
    await RedisStreamSubscriber(redis_client, stream, "workers", "setup").ensure_group()

    doomed = subprocess.Popen([sys.executable, "-c", CRASHING_CONSUMER, redis_server_url, stream],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = await asyncio.wait_for(asyncio.to_thread(doomed.stdout.readline), timeout=20)
        assert line.strip() == b"handling 1", doomed.stderr.read()
    finally:
        doomed.kill()
        doomed.wait(timeout=5)
    assert (await redis_client.xpending(stream, "workers"))["pending"] == 3

    seen: list = []

    async def handler(event) -> None:
        seen.append(event)

    survivor = RedisStreamSubscriber(redis_client, stream, "workers", "survivor",
                                     claim_idle=dt.timedelta(milliseconds=50))
    await asyncio.sleep(0.1)
    assert await survivor.poll(handler) == 3
    assert seen == published
    assert (await redis_client.xpending(stream, "workers"))["pending"] == 0
    assert await survivor.poll(handler) == 0


async def test_a_consumer_that_was_not_idle_long_enough_keeps_its_events(redis_client, redis_prefix):
    stream = f"{redis_prefix}events"
    await RedisStreamEventPublisher(redis_client, stream=stream).publish(happened(1))
    busy = RedisStreamSubscriber(redis_client, stream, "workers", "busy")

    async def stall(event):
        raise RuntimeError("still working")

    with pytest.raises(RuntimeError):
        await busy.poll(stall)
    other = RedisStreamSubscriber(redis_client, stream, "workers", "other", claim_idle=dt.timedelta(minutes=5))
    seen = []

    async def handler(event):
        seen.append(event)

    assert await other.poll(handler) == 0
    assert await busy.poll(handler) == 1
    assert [e.n for e in seen] == [1]


async def test_publishing_while_redis_is_down_raises_unavailable_quickly(private_redis):
    async with open_redis(private_redis.url) as client:
        publisher = RedisStreamEventPublisher(client, stream="confero:events")
        await publisher.publish(happened(1))
        private_redis.stop()
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await publisher.publish(happened(2))
        assert time.monotonic() - started < FAST


async def test_a_subscriber_recovers_when_a_restarted_server_lost_its_group(private_redis):
    async with open_redis(private_redis.url) as client:
        publisher = RedisStreamEventPublisher(client, stream="confero:events")
        subscriber = RedisStreamSubscriber(client, "confero:events", "workers", "w1")
        seen: list[int] = []

        async def handler(event) -> None:
            seen.append(event.n)

        await publisher.publish(happened(1))
        assert await subscriber.poll(handler) == 1
        private_redis.stop()
        private_redis.start()
        await publisher.publish(happened(2))
        with pytest.raises(Unavailable):
            await subscriber.poll(handler)  # NOGROUP: the group died with the server
        assert await subscriber.poll(handler) == 1
        assert seen == [1, 2]
