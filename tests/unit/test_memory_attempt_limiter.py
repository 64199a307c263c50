from __future__ import annotations

import datetime as dt

import pytest

from adapters.memory.limits import InMemoryAttemptLimiter
from domain.shared.limits import AttemptLimit
from confero_contracts.limits import AttemptLimiterContract


class TestInMemoryAttemptLimiter(AttemptLimiterContract):
    @pytest.fixture
    async def limiter(self):
        return InMemoryAttemptLimiter()


async def test_keys_whose_attempts_all_expired_are_swept_so_probing_cannot_grow_the_table():
    limiter = InMemoryAttemptLimiter()
    start = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    window = dt.timedelta(minutes=1)
    for i in range(10_000):
        await limiter.reserve([AttemptLimit(f"probe:{i}", 1, window)], start + i * dt.timedelta(seconds=1))
    assert len(limiter._attempts) <= 2 * 64 + 60
