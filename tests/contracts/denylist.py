"""TokenDenylist contract (see ports/users.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.shared.ids import new_id
from ports.users import TokenDenylist

MINUTE = dt.timedelta(minutes=1)
TICK = dt.timedelta(microseconds=1)


class TokenDenylistContract:
    @pytest.fixture
    async def denylist(self) -> TokenDenylist:
        raise NotImplementedError

    @pytest.fixture
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    async def test_a_token_never_denied_is_not_denied(self, denylist, now):
        assert not await denylist.is_denied(new_id(), now)

    async def test_a_denied_token_is_denied_until_the_instant_given(self, denylist, now):
        token, until = new_id(), now + 15 * MINUTE
        await denylist.deny(token, until, now)
        assert await denylist.is_denied(token, now)
        assert await denylist.is_denied(token, until - TICK)
        assert not await denylist.is_denied(token, until)

    async def test_denying_an_already_expired_token_has_no_effect(self, denylist, now):
        token = new_id()
        await denylist.deny(token, now, now)
        await denylist.deny(token, now - MINUTE, now)
        assert not await denylist.is_denied(token, now - 2 * MINUTE)

    async def test_denying_one_token_leaves_others_alone(self, denylist, now):
        token = new_id()
        await denylist.deny(token, now + MINUTE, now)
        assert not await denylist.is_denied(new_id(), now)

    async def test_denying_again_with_a_later_until_extends_the_denial(self, denylist, now):
        token = new_id()
        await denylist.deny(token, now + MINUTE, now)
        await denylist.deny(token, now + 10 * MINUTE, now)
        assert await denylist.is_denied(token, now + 5 * MINUTE)

    async def test_the_callers_now_decides_not_the_time_of_the_call(self, denylist, now):
        token = new_id()
        await denylist.deny(token, now + 60 * MINUTE, now + 30 * MINUTE)
        assert await denylist.is_denied(token, now + 59 * MINUTE)
        assert not await denylist.is_denied(token, now + 61 * MINUTE)

    async def test_many_tokens_are_kept_apart(self, denylist, now):
        tokens = [new_id() for _ in range(50)]
        for i, token in enumerate(tokens):
            await denylist.deny(token, now + (i + 1) * MINUTE, now)
        at = now + 25 * MINUTE
        assert [await denylist.is_denied(t, at) for t in tokens] == [i + 1 > 25 for i in range(50)]
