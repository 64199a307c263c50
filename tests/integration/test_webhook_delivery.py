"""Webhook deliveries to a real receiver on 127.0.0.1 that verifies signatures: delivered and signed,
a receiver down then up, persistent failure, restarts and concurrent workers on PostgreSQL, and the
SSRF guard of the sender."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.httpclient.webhooks import AiohttpWebhookSender
from adapters.memory.webhooks import InMemoryWebhookStore
from adapters.postgres.webhooks import PostgresWebhookStore
from adapters.system.clock import FrozenClock
from domain.meetings.events import MeetingStarted, ParticipantJoined
from domain.users.model import Role
from domain.users.tokens import Principal
from domain.webhooks.model import DeliveryStatus, DisablePolicy, RetryPolicy
from domain.webhooks.service import WebhookAdminService, WebhookDeliverer, WebhookDispatcher
from domain.webhooks.urls import TargetRules
from adapters.redis.events import RedisStreamEventPublisher, RedisStreamSubscriber
from runners.workers.webhooks import stream_feed
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401
from tests.integration.redis_fixtures import redis_client, redis_prefix  # noqa: F401
from tests.support.webhook_receiver import Receiver

T0 = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
ADMIN = Principal(user_id="00000000-0000-4000-8000-000000000001", role=Role.ADMIN, session_id="s", token_id="t",
                  expires_at=T0 + dt.timedelta(days=1))
DEV = TargetRules(require_https=False, allow_private=True)
RETRY = RetryPolicy(base=dt.timedelta(seconds=10), cap=dt.timedelta(minutes=5), max_attempts=5)


def started(n: int = 0) -> MeetingStarted:
    return MeetingStarted(occurred_at=T0, meeting_id=f"00000000-0000-4000-8000-{n:012d}")


class Rig:
    """Admin, dispatcher and deliverer on one store, with a clock that moves only when told to."""

    def __init__(self, store, *, disable: DisablePolicy = DisablePolicy()) -> None:  # type: ignore[no-untyped-def]
        self.clock = FrozenClock(T0)
        self.store = store
        self.sender = AiohttpWebhookSender(DEV, timeout=5)
        self.admin = WebhookAdminService(store=store, clock=self.clock, rules=DEV)
        self.dispatch = WebhookDispatcher(store=store, clock=self.clock)
        self.deliverer = WebhookDeliverer(store=store, sender=self.sender, clock=self.clock, retry=RETRY,
                                          disable=disable, jitter=lambda: 0.0)

    async def endpoint(self, receiver: Receiver, kinds=("meeting.started",)) -> str:  # type: ignore[no-untyped-def]
        endpoint, receiver.secret = await self.admin.create(ADMIN, url=receiver.url, kinds=list(kinds))
        receiver.clock = lambda: self.clock.now().timestamp()  # the receiver's clock agrees with ours
        return endpoint.id

    async def log(self, endpoint_id: str):  # type: ignore[no-untyped-def]
        from domain.shared.pagination import PageRequest
        return (await self.store.list_deliveries(endpoint_id, PageRequest(limit=100))).items


@pytest.fixture
async def receiver():
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def rig():
    r = Rig(InMemoryWebhookStore(), disable=DisablePolicy(failures=3, window=dt.timedelta(0)))
    yield r
    await r.sender.close()


async def test_an_event_is_delivered_once_signed_to_each_endpoint_that_wants_it(rig, receiver):
    endpoint_id = await rig.endpoint(receiver)
    event = started(1)
    await rig.dispatch(event)
    await rig.dispatch(event)  # the event stream is at-least-once
    await rig.dispatch(ParticipantJoined(occurred_at=T0, meeting_id=event.meeting_id, user_id="u", role="host"))
    assert await rig.deliverer.deliver_due() == 1
    (got,) = receiver.received
    assert got["body"] == {"id": event.event_id, "type": "meeting.started", "occurred_at": T0.isoformat(),
                           "data": {"meeting_id": event.meeting_id}}
    (logged,) = await rig.log(endpoint_id)
    assert got["headers"]["Confero-Delivery"] == logged.id and got["headers"]["Confero-Event-Id"] == event.event_id
    assert (logged.status, logged.attempts, logged.response_status) == (DeliveryStatus.DELIVERED, 1, 204)
    assert receiver.refused == 0
    assert await rig.deliverer.deliver_due() == 0


async def test_a_receiver_down_then_up_gets_the_delivery_once_after_the_backoff(rig):
    receiver = Receiver()  # not started: connections are refused
    endpoint_id = await rig.endpoint(receiver)
    await rig.dispatch(started(2))
    assert await rig.deliverer.deliver_due() == 1
    (failed,) = await rig.log(endpoint_id)
    assert (failed.status, failed.attempts, failed.response_status) == (DeliveryStatus.PENDING, 1, None)
    assert failed.next_attempt_at == T0 + dt.timedelta(seconds=5) and "Connect" in failed.last_error
    await receiver.start()
    try:
        rig.clock.advance(dt.timedelta(seconds=4))
        assert await rig.deliverer.deliver_due() == 0  # still backing off
        rig.clock.advance(dt.timedelta(seconds=1))
        assert await rig.deliverer.deliver_due() == 1
        rig.clock.advance(dt.timedelta(hours=1))
        assert await rig.deliverer.deliver_due() == 0
        assert len(receiver.received) == 1 and receiver.refused == 0
        (done,) = await rig.log(endpoint_id)
        assert (done.status, done.attempts) == (DeliveryStatus.DELIVERED, 2)
        assert (await rig.store.get_endpoint(endpoint_id)).consecutive_failures == 0
    finally:
        await receiver.stop()


async def test_an_endpoint_that_keeps_failing_is_disabled_and_gets_nothing_more(rig, receiver):
    receiver.status = 500
    rig.deliverer.batch = 1
    endpoint_id = await rig.endpoint(receiver)
    await rig.dispatch(started(3))
    await rig.dispatch(started(4))
    for _ in range(10):
        await rig.deliverer.deliver_due()
        rig.clock.advance(RETRY.cap)
    endpoint = await rig.store.get_endpoint(endpoint_id)
    assert not endpoint.enabled and endpoint.consecutive_failures == 3
    assert "3 consecutive failed deliveries" in endpoint.disabled_reason
    logged = await rig.log(endpoint_id)
    assert {d.status for d in logged} == {DeliveryStatus.FAILED}
    assert sum(d.attempts for d in logged) == 3 and {d.response_status for d in logged if d.attempts} == {500}
    await rig.dispatch(started(5))
    assert len(await rig.log(endpoint_id)) == 2  # disabled: no new deliveries
    # re-enabled and redelivered by the administrator: it arrives
    receiver.status = 204
    await rig.admin.update(ADMIN, endpoint_id, enabled=True)
    await rig.admin.redeliver(ADMIN, endpoint_id, logged[0].id)
    assert await rig.deliverer.deliver_due() == 1
    assert [r["body"]["id"] for r in receiver.received] == [logged[0].event_id]


async def test_a_rotated_secret_signs_the_next_attempts(rig, receiver):
    endpoint_id = await rig.endpoint(receiver)
    old = receiver.secret
    _, receiver.secret = await rig.admin.rotate_secret(ADMIN, endpoint_id)
    assert receiver.secret != old
    await rig.dispatch(started(6))
    await rig.deliverer.deliver_due()
    assert len(receiver.received) == 1 and receiver.refused == 0


async def test_the_sender_refuses_private_targets_under_production_rules(receiver):
    sender = AiohttpWebhookSender(TargetRules(), timeout=5)
    try:
        for url in (receiver.url, f"http://localhost:{receiver.port}/hooks"):
            result = await sender.send(url, b"{}", {"Content-Type": "application/json"})
            assert result.status is None and not result.ok, url
            assert "allowed" in result.error or "no address" in result.error, result.error
    finally:
        await sender.close()
    assert receiver.received == [] and receiver.refused == 0  # nothing even reached it


async def test_a_redirect_is_a_failure_not_followed(rig):
    from aiohttp import web as aioweb
    hits: list[str] = []

    async def redirect(request):  # type: ignore[no-untyped-def]
        hits.append(request.path)
        raise aioweb.HTTPFound("/elsewhere")
    app = aioweb.Application()
    app.router.add_post("/hooks", redirect)
    app.router.add_post("/elsewhere", redirect)
    runner = aioweb.AppRunner(app)
    await runner.setup()
    probe = Receiver()
    await aioweb.TCPSite(runner, "127.0.0.1", probe.port).start()
    try:
        endpoint_id = await rig.endpoint(probe)
        await rig.dispatch(started(7))
        await rig.deliverer.deliver_due()
        (logged,) = await rig.log(endpoint_id)
        assert (logged.status, logged.response_status, hits) == (DeliveryStatus.PENDING, 302, ["/hooks"])
    finally:
        await runner.cleanup()


# -- PostgreSQL: restarts and several workers ------------------------------------------------------


async def test_pending_deliveries_survive_a_restart_on_postgresql(pg_pool, receiver):
    await pg_pool.execute("TRUNCATE webhook_endpoints, webhook_deliveries")
    before = Rig(PostgresWebhookStore(pg_pool))
    endpoint_id = await before.endpoint(receiver)
    for n in range(3):
        await before.dispatch(started(10 + n))
    await before.sender.close()  # the process stops before delivering anything
    after = Rig(PostgresWebhookStore(pg_pool))  # a new process: new objects, same database
    try:
        assert await after.deliverer.deliver_due() == 3
        assert len(receiver.received) == 3 and receiver.refused == 0
        assert {d.status for d in await after.log(endpoint_id)} == {DeliveryStatus.DELIVERED}
    finally:
        await after.sender.close()


async def test_workers_of_several_processes_deliver_each_delivery_once(pg_pool, receiver):
    await pg_pool.execute("TRUNCATE webhook_endpoints, webhook_deliveries")
    rigs = [Rig(PostgresWebhookStore(pg_pool)) for _ in range(3)]
    for r in rigs:
        r.deliverer.batch = 4
    await rigs[0].endpoint(receiver)
    for n in range(20):
        await rigs[0].dispatch(started(20 + n))
    try:
        while True:
            rounds = await asyncio.gather(*(r.deliverer.deliver_due() for r in rigs))
            if not any(rounds):
                break
        ids = [r["headers"]["Confero-Delivery"] for r in receiver.received]
        assert len(ids) == len(set(ids)) == 20
    finally:
        for r in rigs:
            await r.sender.close()


# -- the production feed: the event stream's consumer group -----------------------------------------


async def test_an_event_published_twice_on_the_redis_stream_becomes_one_delivery(redis_client, redis_prefix,
                                                                                 receiver):
    stream = f"{redis_prefix}events"
    rig = Rig(InMemoryWebhookStore())
    endpoint_id = await rig.endpoint(receiver)
    # two processes in the one "webhooks" group
    subscribers = [RedisStreamSubscriber(redis_client, stream, "webhooks", f"process-{n}",
                                         block=dt.timedelta(milliseconds=50)) for n in range(2)]
    for sub in subscribers:
        await sub.ensure_group()
    first, second = started(40), started(41)
    publisher = RedisStreamEventPublisher(redis_client, stream=stream)
    await publisher.publish(first, second)
    await publisher.publish(first)  # the relay may publish a record twice
    stop = asyncio.Event()
    feeds = [asyncio.create_task(stream_feed(sub)(rig.dispatch, stop)) for sub in subscribers]
    try:
        async with asyncio.timeout(10):
            while any(g["pending"] or g["lag"] for g in await redis_client.xinfo_groups(stream)):
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.gather(*feeds)
        await rig.sender.close()
    assert sorted(d.event_id for d in await rig.log(endpoint_id)) == sorted([first.event_id, second.event_id])
