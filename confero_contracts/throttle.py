"""LoginThrottle contract (see ports/users.py): atomic sliding-window reservations and known clients."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain.shared.ids import UserId, new_id
from domain.users.throttling import Bucket
from ports.users import LoginThrottle

SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
LIMIT = 3
WINDOW = dt.timedelta(minutes=10)


def bucket(limit: int = LIMIT, window: dt.timedelta = WINDOW) -> Bucket:
    return Bucket(f"test:{new_id()}", limit, window)


class LoginThrottleContract:
    @pytest.fixture
    async def throttle(self) -> LoginThrottle:
        raise NotImplementedError

    @pytest.fixture
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    async def fill(self, throttle, buckets, at, times):
        for _ in range(times):
            assert (await throttle.reserve(buckets, at)).granted

    async def test_a_bucket_without_attempts_grants_and_counts(self, throttle, now):
        b = bucket(limit=1)
        first = await throttle.reserve([b], now)
        assert first.granted and first.retry_after == 0 and first.buckets == (b,)
        assert not (await throttle.reserve([b], now)).granted

    async def test_no_buckets_is_always_granted(self, throttle, now):
        assert (await throttle.reserve([], now)).granted

    async def test_the_limit_is_granted_and_the_next_attempt_refused_until_the_oldest_leaves(self, throttle, now):
        b = bucket()
        for i in range(LIMIT):
            assert (await throttle.reserve([b], now + i * MINUTE)).granted
        later = now + LIMIT * MINUTE
        refused = await throttle.reserve([b], later)
        assert not refused.granted
        assert refused.retry_after == (WINDOW - LIMIT * MINUTE) // SECOND

    async def test_a_refused_reservation_counts_nothing(self, throttle, now):
        b = bucket()
        await self.fill(throttle, [b], now, LIMIT)
        for _ in range(5):
            assert not (await throttle.reserve([b], now + MINUTE)).granted
        # Had the refusals counted, the bucket would stay full after the first LIMIT left.
        assert (await throttle.reserve([b], now + WINDOW)).granted

    async def test_the_wait_is_rounded_up_to_whole_seconds(self, throttle, now):
        b = bucket()
        await self.fill(throttle, [b], now, LIMIT)
        refused = await throttle.reserve([b], now + dt.timedelta(milliseconds=1500))
        assert refused.retry_after == (WINDOW // SECOND) - 1

    async def test_an_attempt_exactly_one_window_old_has_left(self, throttle, now):
        b = bucket()
        await self.fill(throttle, [b], now, LIMIT)
        assert (await throttle.reserve([b], now + WINDOW - dt.timedelta(microseconds=1))).retry_after == 1
        assert (await throttle.reserve([b], now + WINDOW)).granted

    async def test_the_window_slides_attempt_by_attempt(self, throttle, now):
        b = bucket(limit=2)
        times = [now + i * MINUTE for i in range(2)]
        for t in times:
            assert (await throttle.reserve([b], t)).granted
        assert not (await throttle.reserve([b], times[0] + WINDOW - SECOND)).granted
        assert (await throttle.reserve([b], times[0] + WINDOW)).granted
        refused = await throttle.reserve([b], times[0] + WINDOW)
        assert refused.retry_after == (times[1] + WINDOW - (times[0] + WINDOW)) // SECOND

    async def test_each_bucket_has_its_own_limit_and_window(self, throttle, now):
        short, long = bucket(limit=1, window=MINUTE), bucket(limit=5, window=WINDOW)
        assert (await throttle.reserve([short, long], now)).granted
        assert (await throttle.reserve([short, long], now + SECOND)).retry_after == 59
        assert (await throttle.reserve([short, long], now + MINUTE)).granted

    async def test_one_full_bucket_refuses_and_counts_in_none(self, throttle, now):
        full, free = bucket(limit=1), bucket(limit=2)
        await self.fill(throttle, [full], now, 1)
        assert not (await throttle.reserve([free, full], now)).granted
        await self.fill(throttle, [free], now, 2)  # both places of `free` were still there

    async def test_the_longest_wait_among_the_buckets_is_answered(self, throttle, now):
        early, late = bucket(), bucket()
        await self.fill(throttle, [early], now, LIMIT)
        await self.fill(throttle, [late], now + 2 * MINUTE, LIMIT)
        refused = await throttle.reserve([early, late], now + 3 * MINUTE)
        assert refused.retry_after == (WINDOW - MINUTE) // SECOND

    async def test_buckets_are_counted_separately(self, throttle, now):
        full, other = bucket(), bucket()
        await self.fill(throttle, [full], now, LIMIT)
        assert (await throttle.reserve([other], now)).granted

    async def test_concurrent_reservations_never_exceed_the_limit(self, throttle, now):
        shared, own = bucket(limit=7), [bucket(limit=100) for _ in range(40)]
        results = await asyncio.gather(*(throttle.reserve([o, shared], now) for o in own))
        assert sum(r.granted for r in results) == 7
        assert len({r.id for r in results if r.granted}) == 7

    async def test_release_takes_the_attempt_back_from_every_bucket(self, throttle, now):
        first, second = bucket(limit=1), bucket(limit=1)
        reservation = await throttle.reserve([first, second], now)
        await throttle.release(reservation)
        await throttle.release(reservation)
        assert (await throttle.reserve([first], now)).granted
        assert (await throttle.reserve([second], now)).granted

    async def test_release_leaves_the_other_attempts_counted(self, throttle, now):
        b = bucket(limit=2)
        kept = await throttle.reserve([b], now)
        released = await throttle.reserve([b], now)
        await throttle.release(released)
        assert (await throttle.reserve([b], now)).granted
        assert not (await throttle.reserve([b], now)).granted
        assert kept.granted

    async def test_releasing_a_refused_reservation_is_harmless(self, throttle, now):
        b = bucket(limit=1)
        await self.fill(throttle, [b], now, 1)
        await throttle.release(await throttle.reserve([b], now))
        assert not (await throttle.reserve([b], now)).granted

    async def test_reset_clears_one_bucket_only(self, throttle, now):
        cleared, kept = bucket(), bucket()
        await self.fill(throttle, [cleared, kept], now, LIMIT)
        await throttle.reset(cleared.key)
        await self.fill(throttle, [cleared], now, LIMIT)
        assert not (await throttle.reserve([kept], now)).granted

    async def test_reset_of_an_unknown_bucket_is_harmless(self, throttle, now):
        await throttle.reset(bucket().key)

    async def test_a_client_is_unknown_until_remembered_and_known_until_the_instant_given(self, throttle, now):
        user, client = UserId(new_id()), new_id()
        assert not await throttle.knows_client(user, client, now)
        await throttle.remember_client(user, client, now + MINUTE, now)
        assert await throttle.knows_client(user, client, now + MINUTE - dt.timedelta(microseconds=1))
        assert not await throttle.knows_client(user, client, now + MINUTE)

    async def test_a_client_is_known_only_to_the_account_it_logged_into(self, throttle, now):
        alice, bob, client = UserId(new_id()), UserId(new_id()), new_id()
        await throttle.remember_client(alice, client, now + MINUTE, now)
        assert not await throttle.knows_client(bob, client, now)
        assert not await throttle.knows_client(alice, new_id(), now)

    async def test_remembering_again_extends_and_the_past_is_not_remembered(self, throttle, now):
        user, client, stale = UserId(new_id()), new_id(), new_id()
        await throttle.remember_client(user, client, now + MINUTE, now)
        await throttle.remember_client(user, client, now + 10 * MINUTE, now)
        assert await throttle.knows_client(user, client, now + 5 * MINUTE)
        await throttle.remember_client(user, stale, now, now)
        assert not await throttle.knows_client(user, stale, now - MINUTE)
