"""LoginThrottle contract (see ports/users.py).  Subclasses build the throttle with LIMIT, WINDOW
and ADDRESS_LIMIT; keys starting with ``addr:`` are client addresses and get ADDRESS_LIMIT."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain.shared.ids import new_id
from ports.users import LoginThrottle

SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)


def account() -> str:
    return f"login:{new_id()}"


def address() -> str:
    return f"addr:{new_id()}"


class LoginThrottleContract:
    LIMIT = 3
    ADDRESS_LIMIT = 5
    WINDOW = dt.timedelta(minutes=10)

    @pytest.fixture
    async def throttle(self) -> LoginThrottle:
        raise NotImplementedError

    @pytest.fixture
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    async def fail(self, throttle, keys, at, times=1):
        for _ in range(times):
            await throttle.record_failure(keys, at)

    async def test_a_key_without_failures_may_try(self, throttle, now):
        assert await throttle.check([account()], now) == 0

    async def test_checking_no_keys_allows(self, throttle, now):
        assert await throttle.check([], now) == 0

    async def test_failures_below_the_limit_do_not_block(self, throttle, now):
        key = account()
        await self.fail(throttle, [key], now, self.LIMIT - 1)
        assert await throttle.check([key], now) == 0

    async def test_reaching_the_limit_blocks_until_the_oldest_failure_leaves_the_window(self, throttle, now):
        key = account()
        for i in range(self.LIMIT):
            await throttle.record_failure([key], now + i * MINUTE)
        later = now + self.LIMIT * MINUTE
        assert await throttle.check([key], later) == (self.WINDOW - self.LIMIT * MINUTE) // SECOND

    async def test_the_wait_is_rounded_up_to_whole_seconds(self, throttle, now):
        key = account()
        await self.fail(throttle, [key], now, self.LIMIT)
        just_after = now + dt.timedelta(milliseconds=1500)
        assert await throttle.check([key], just_after) == (self.WINDOW // SECOND) - 1

    async def test_the_key_is_free_again_once_the_window_has_passed(self, throttle, now):
        key = account()
        await self.fail(throttle, [key], now, self.LIMIT)
        assert await throttle.check([key], now + self.WINDOW - dt.timedelta(microseconds=1)) == 1
        assert await throttle.check([key], now + self.WINDOW) == 0

    async def test_the_window_slides_failure_by_failure(self, throttle, now):
        key = account()
        times = [now + i * MINUTE for i in range(self.LIMIT + 2)]
        for t in times:
            await throttle.record_failure([key], t)
        # LIMIT + 2 failures: the third oldest must leave before the key is under its limit again.
        last = times[-1]
        assert await throttle.check([key], last) == (times[2] + self.WINDOW - last) // SECOND
        assert await throttle.check([key], times[2] + self.WINDOW) == 0

    async def test_two_failures_at_the_same_instant_count_twice(self, throttle, now):
        key = account()
        await self.fail(throttle, [key], now, self.LIMIT)
        assert await throttle.check([key], now) > 0

    async def test_concurrent_failures_are_all_counted(self, throttle, now):
        key = account()
        await asyncio.gather(*(throttle.record_failure([key], now) for _ in range(self.LIMIT)))
        assert await throttle.check([key], now) == self.WINDOW // SECOND

    async def test_keys_are_counted_separately(self, throttle, now):
        blocked, other = account(), account()
        await self.fail(throttle, [blocked], now, self.LIMIT)
        assert await throttle.check([other], now) == 0
        assert await throttle.check([other, blocked], now) == self.WINDOW // SECOND

    async def test_a_failure_counts_against_every_key_given(self, throttle, now):
        first, second = account(), account()
        await self.fail(throttle, [first, second], now, self.LIMIT)
        assert await throttle.check([first], now) > 0
        assert await throttle.check([second], now) > 0

    async def test_check_answers_the_longest_wait_among_the_keys(self, throttle, now):
        early, late = account(), account()
        await self.fail(throttle, [early], now, self.LIMIT)
        await self.fail(throttle, [late], now + 2 * MINUTE, self.LIMIT)
        at = now + 3 * MINUTE
        assert await throttle.check([early, late], at) == (self.WINDOW - MINUTE) // SECOND

    async def test_client_addresses_have_their_own_higher_limit(self, throttle, now):
        addr = address()
        await self.fail(throttle, [addr], now, self.LIMIT)
        assert await throttle.check([addr], now) == 0
        await self.fail(throttle, [addr], now, self.ADDRESS_LIMIT - self.LIMIT)
        assert await throttle.check([addr], now) == self.WINDOW // SECOND

    async def test_reset_clears_one_key_only(self, throttle, now):
        key, addr = account(), address()
        await self.fail(throttle, [key, addr], now, self.ADDRESS_LIMIT)
        await throttle.reset(key)
        assert await throttle.check([key], now) == 0
        assert await throttle.check([addr], now) > 0

    async def test_reset_of_an_unknown_key_is_harmless(self, throttle, now):
        await throttle.reset(account())

    async def test_failures_after_a_reset_count_from_zero(self, throttle, now):
        key = account()
        await self.fail(throttle, [key], now, self.LIMIT)
        await throttle.reset(key)
        await self.fail(throttle, [key], now, self.LIMIT - 1)
        assert await throttle.check([key], now) == 0
