"""AttemptLimiter contract (see ports/limits.py), written once and run against every adapter."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain.shared.ids import new_id
from domain.shared.limits import AttemptLimit, AttemptsExhausted
from ports.limits import AttemptLimiter

SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
WINDOW = dt.timedelta(minutes=10)


def a_key() -> str:
    return f"test:{new_id()}"


def limit(key: str, n: int = 3, window: dt.timedelta = WINDOW) -> AttemptLimit:
    return AttemptLimit(key, n, window)


class AttemptLimiterContract:
    @pytest.fixture
    async def limiter(self) -> AttemptLimiter:
        raise NotImplementedError

    @pytest.fixture
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    async def refused_for(self, limiter: AttemptLimiter, limits: list[AttemptLimit], at: dt.datetime) -> int:
        with pytest.raises(AttemptsExhausted) as refused:
            await limiter.reserve(limits, at)
        assert refused.value.details == {"retry_after": refused.value.retry_after}
        return refused.value.retry_after

    async def test_attempts_up_to_the_limit_are_reserved_with_distinct_ids(self, limiter, now):
        key = a_key()
        ids = [await limiter.reserve([limit(key)], now) for _ in range(3)]
        assert len(set(ids)) == 3

    async def test_the_attempt_past_the_limit_is_refused_until_the_oldest_leaves_the_window(self, limiter, now):
        key = a_key()
        for i in range(3):
            await limiter.reserve([limit(key)], now + i * MINUTE)
        later = now + 3 * MINUTE
        assert await self.refused_for(limiter, [limit(key)], later) == (WINDOW - 3 * MINUTE) // SECOND
        await limiter.reserve([limit(key)], now + WINDOW)  # the first attempt has left the window

    async def test_the_wait_is_rounded_up_and_never_zero(self, limiter, now):
        key = a_key()
        for _ in range(3):
            await limiter.reserve([limit(key)], now)
        assert await self.refused_for(limiter, [limit(key)], now + dt.timedelta(milliseconds=1500)) == \
            WINDOW // SECOND - 1
        assert await self.refused_for(limiter, [limit(key)], now + WINDOW - dt.timedelta(microseconds=1)) == 1

    async def test_a_refused_reservation_records_nothing_under_any_key(self, limiter, now):
        full, free = a_key(), a_key()
        await limiter.reserve([limit(full, 1)], now)
        for _ in range(5):
            await self.refused_for(limiter, [limit(free, 2), limit(full, 1)], now)
        await limiter.reserve([limit(free, 2)], now)
        await limiter.reserve([limit(free, 2)], now)
        await self.refused_for(limiter, [limit(free, 2)], now)

    async def test_one_reservation_counts_under_every_key_with_its_own_limit_and_window(self, limiter, now):
        user, meeting = a_key(), a_key()
        both = [limit(user, 2, MINUTE), limit(meeting, 3, WINDOW)]
        await limiter.reserve(both, now)
        await limiter.reserve(both, now)
        assert await self.refused_for(limiter, both, now) == MINUTE // SECOND
        await limiter.reserve(both, now + MINUTE)  # the user's window has passed; the meeting has room
        assert await self.refused_for(limiter, [limit(meeting, 3, WINDOW)], now + MINUTE) == \
            (WINDOW - MINUTE) // SECOND

    async def test_the_wait_is_the_longest_among_the_keys_over_their_limit(self, limiter, now):
        early, late = a_key(), a_key()
        await limiter.reserve([limit(early, 1)], now)
        await limiter.reserve([limit(late, 1)], now + 2 * MINUTE)
        at = now + 3 * MINUTE
        assert await self.refused_for(limiter, [limit(early, 1), limit(late, 1)], at) == (WINDOW - MINUTE) // SECOND

    async def test_concurrent_reservations_let_exactly_the_limit_through(self, limiter, now):
        key = a_key()
        outcomes = await asyncio.gather(*(limiter.reserve([limit(key, 5)], now) for _ in range(20)),
                                        return_exceptions=True)
        assert sum(isinstance(o, str) for o in outcomes) == 5
        assert all(isinstance(o, (str, AttemptsExhausted)) for o in outcomes)

    async def test_a_released_attempt_no_longer_counts(self, limiter, now):
        key, other = a_key(), a_key()
        first = await limiter.reserve([limit(key, 2), limit(other, 2)], now)
        await limiter.reserve([limit(key, 2)], now)
        await limiter.release([key, other], first)
        await limiter.reserve([limit(key, 2)], now)
        await self.refused_for(limiter, [limit(key, 2)], now)
        await limiter.reserve([limit(other, 2)], now)
        await limiter.reserve([limit(other, 2)], now)

    async def test_release_is_idempotent_and_unknown_ids_or_keys_are_harmless(self, limiter, now):
        key = a_key()
        kept = await limiter.reserve([limit(key, 2)], now)
        gone = await limiter.reserve([limit(key, 2)], now)
        for _ in range(2):
            await limiter.release([key], gone)
        await limiter.release([key, a_key()], "no-such-attempt")
        await limiter.reserve([limit(key, 2)], now)
        await self.refused_for(limiter, [limit(key, 2)], now)
        assert kept != gone

    async def test_no_limits_reserve_an_id_and_record_nothing(self, limiter, now):
        assert isinstance(await limiter.reserve([], now), str)
        await limiter.release([], "anything")
