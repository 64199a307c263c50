"""The room contracts against the Redis adapters, plus what only a shared Redis has: several
processes (here: separate clients) on one presence and one bus, and a Redis restart under the bus."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.redis.client import open_redis
from adapters.redis.presence import RedisRoomPresence
from adapters.redis.signal_bus import RedisSignalBus
from domain.shared.errors import Unavailable
from confero_contracts.factories import T0
from confero_contracts.rooms import (TTL, Inbox, RoomPresenceContract, SignalBusContract, a_member, a_message,
                                   a_room, eventually)
from tests.integration.redis_fixtures import delete_prefix, redis_client, redis_prefix  # noqa: F401
from tests.support.servers import PrivateRedis

pytestmark = pytest.mark.integration


class TestRedisRoomPresence(RoomPresenceContract):
    @pytest.fixture
    async def presence(self, redis_client, redis_prefix):
        return RedisRoomPresence(redis_client, prefix=redis_prefix)

    async def test_no_keys_are_left_once_every_member_is_gone(self, presence, redis_client, redis_prefix, now):
        room, other = a_room(), a_room()
        gone_by_remove, gone_by_reap, gone_by_clear = a_member(), a_member(), a_member()
        await presence.enter(room, gone_by_remove, now + TTL)
        await presence.enter(room, gone_by_reap, now + TTL)
        await presence.enter(other, gone_by_clear, now + 2 * TTL)
        await presence.remove(room, gone_by_remove.user_id)
        await presence.reap(now + TTL)
        await presence.clear(other)
        assert [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")] == []


class TestRedisSignalBus(SignalBusContract):
    @pytest.fixture
    async def bus(self, redis_client, redis_prefix):
        bus = RedisSignalBus(redis_client, prefix=redis_prefix)
        try:
            yield bus
        finally:
            await bus.aclose()

    async def test_a_channel_is_subscribed_only_while_someone_listens(self, bus, redis_client, redis_prefix):
        room = a_room()
        channel = f"{redis_prefix}room:{room}"

        async def subscribers() -> int:
            return dict(await redis_client.pubsub_numsub(channel))[channel]

        async with bus.listen(room, Inbox()):
            async with bus.listen(room, Inbox()):
                assert await subscribers() == 1  # ref-counted: one subscription for both listeners
            assert await subscribers() == 1
        await eventually_async(lambda: subscribers(), 0)

    async def test_a_failing_handler_is_logged(self, bus, caplog):
        room, healthy = a_room(), Inbox()
        with caplog.at_level(logging.ERROR, logger="adapters.redis.signal_bus"):
            async with bus.listen(room, Inbox(fail=True)), bus.listen(room, healthy):
                await bus.publish(a_message(room))
                await eventually(lambda: healthy.seen)
        assert "room handler failed" in caplog.text

    async def test_aclose_drops_the_subscriptions(self, redis_client, redis_prefix):
        bus = RedisSignalBus(redis_client, prefix=redis_prefix)
        room = a_room()
        channel = f"{redis_prefix}room:{room}"
        async with bus.listen(room, Inbox()):
            await bus.aclose()
            await eventually_async(lambda: _numsub(redis_client, channel), 0)


async def _numsub(client, channel: str) -> int:
    return dict(await client.pubsub_numsub(channel))[channel]


async def eventually_async(read, expected, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (got := await read()) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"still {got!r}, wanted {expected!r}"
        await asyncio.sleep(0.02)


# -- several processes ------------------------------------------------------------------------------

async def test_two_bus_instances_on_one_room_both_receive_what_either_publishes(redis_server_url, redis_prefix):
    async with open_redis(redis_server_url) as one_client, open_redis(redis_server_url) as other_client:
        one, other = RedisSignalBus(one_client, prefix=redis_prefix), RedisSignalBus(other_client, prefix=redis_prefix)
        room, at_one, at_other = a_room(), Inbox(), Inbox()
        try:
            async with one.listen(room, at_one), other.listen(room, at_other):
                from_one, from_other = a_message(room, kind="from-one"), a_message(room, kind="from-other")
                await one.publish(from_one)
                await other.publish(from_other)
                await eventually(lambda: len(at_one.seen) == 2 and len(at_other.seen) == 2)
        finally:
            await one.aclose()
            await other.aclose()
    # Each publisher's own messages keep their order; across publishers there is no promise.
    assert sorted(at_one.kinds()) == sorted(at_other.kinds()) == ["from-one", "from-other"]


async def test_members_entered_by_one_process_are_reaped_exactly_once_by_concurrent_reapers(
        redis_server_url, redis_prefix):
    async with open_redis(redis_server_url) as one_client, open_redis(redis_server_url) as other_client:
        try:
            one = RedisRoomPresence(one_client, prefix=redis_prefix)
            other = RedisRoomPresence(other_client, prefix=redis_prefix)
            rooms = [a_room() for _ in range(4)]
            entered = {(rooms[n % 4], a_member()) for n in range(60)}
            for room, member in entered:
                await one.enter(room, member, T0 + TTL)
            batches = await asyncio.gather(*(p.reap(T0 + TTL, limit=5) for _ in range(8) for p in (one, other)))
            reaped = [(room, m) for batch in batches for room, m in batch]
            assert len(reaped) == 60
            assert {(room, m.user_id) for room, m in reaped} == {(room, m.user_id) for room, m in entered}
            assert await other.reap(T0 + 10 * TTL) == []
        finally:
            await delete_prefix(one_client, redis_prefix)


# -- Redis restarting -------------------------------------------------------------------------------

@pytest.fixture
def private_redis():
    server = PrivateRedis(persistent=False)
    server.start()
    try:
        yield server
    finally:
        server.destroy()


async def test_the_bus_uses_one_subscriber_connection_for_all_rooms(private_redis):
    async with open_redis(private_redis.url) as client:
        bus = RedisSignalBus(client)
        rooms = [a_room() for _ in range(3)]
        try:
            async with bus.listen(rooms[0], Inbox()), bus.listen(rooms[1], Inbox()), bus.listen(rooms[2], Inbox()):
                assert len(await client.client_list(_type="pubsub")) == 1
        finally:
            await bus.aclose()
        await eventually_async(lambda: _count_pubsub(client), 0)


async def _count_pubsub(client) -> int:
    return len(await client.client_list(_type="pubsub"))


async def test_the_bus_recovers_after_redis_restarts(private_redis):
    async with open_redis(private_redis.url) as client:
        bus = RedisSignalBus(client)
        room, inbox = a_room(), Inbox()
        try:
            async with bus.listen(room, inbox):
                await bus.publish(a_message(room, kind="before"))
                await eventually(lambda: inbox.seen)

                private_redis.stop()
                with pytest.raises(Unavailable):
                    await bus.publish(a_message(room, kind="during"))
                private_redis.start()

                # Re-subscribing takes a moment (backoff): probe until a message gets through.
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10
                while "after" not in inbox.kinds():
                    assert loop.time() < deadline, "the bus did not recover"
                    await bus.publish(a_message(room, kind="after"))
                    await asyncio.sleep(0.05)
                # Once back, delivery is in order again.
                await bus.publish(a_message(room, kind="last"))
                await eventually(lambda: "last" in inbox.kinds())
        finally:
            await bus.aclose()
    assert inbox.kinds()[0] == "before"
    assert "during" not in inbox.kinds()
    assert inbox.kinds()[-1] == "last"


async def test_listening_while_redis_is_down_raises_unavailable_then_works_again(private_redis):
    async with open_redis(private_redis.url) as client:
        bus = RedisSignalBus(client, ready_timeout=0.5)
        room, inbox = a_room(), Inbox()
        try:
            private_redis.stop()
            with pytest.raises(Unavailable):
                async with bus.listen(room, inbox):
                    pass
            private_redis.start()
            async with bus.listen(room, inbox):
                await bus.publish(a_message(room, kind="back"))
                await eventually(lambda: inbox.seen)
        finally:
            await bus.aclose()
    assert inbox.kinds() == ["back"]


async def test_presence_raises_unavailable_while_redis_is_down(private_redis):
    async with open_redis(private_redis.url) as client:
        presence = RedisRoomPresence(client)
        room, member = a_room(), a_member()
        await presence.enter(room, member, T0 + TTL)
        private_redis.stop()
        for call in (presence.members(room, T0), presence.reap(T0 + TTL), presence.remove(room, member.user_id)):
            with pytest.raises(Unavailable):
                await call
        private_redis.start()  # not persistent: the restarted server is empty
        assert await presence.members(room, T0) == []
