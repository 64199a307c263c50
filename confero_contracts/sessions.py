"""SessionStore contract: every adapter must behave like this (see ports/users.py)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from attrs import evolve

from domain.shared.ids import UserId, new_id
from domain.users.tokens import Session
from ports.users import SessionStore

DAY = dt.timedelta(days=1)


def a_session(now: dt.datetime, *, user_id: str | None = None, ttl: dt.timedelta = DAY,
              version: int = 0) -> Session:
    return Session(id=new_id(), user_id=UserId(user_id or new_id()), refresh_token_id=new_id(),
                   created_at=now, expires_at=now + ttl, security_version=version)


class SessionStoreContract:
    @pytest.fixture
    async def store(self) -> SessionStore:
        raise NotImplementedError

    @pytest.fixture
    def now(self) -> dt.datetime:
        # The wall clock, microseconds included: adapters that also keep a real TTL must agree with it.
        return dt.datetime.now(dt.timezone.utc)

    async def test_a_created_session_comes_back_equal(self, store, now):
        session = a_session(now, version=7)
        assert await store.create(session) is True
        assert await store.get(session.id, now) == session

    async def test_an_unknown_session_is_none(self, store, now):
        assert await store.get(new_id(), now) is None

    async def test_a_session_is_live_until_the_instant_it_expires(self, store, now):
        session = a_session(now, ttl=dt.timedelta(minutes=5))
        await store.create(session)
        assert await store.get(session.id, session.expires_at - dt.timedelta(microseconds=1)) == session
        assert await store.get(session.id, session.expires_at) is None

    async def test_an_expired_session_stays_gone(self, store, now):
        session = a_session(now, ttl=dt.timedelta(minutes=5))
        await store.create(session)
        assert await store.get(session.id, session.expires_at + DAY) is None
        assert await store.get(session.id, now) is None

    async def test_rotate_replaces_the_refresh_id_and_extends_expiry(self, store, now):
        session = a_session(now, ttl=dt.timedelta(minutes=5))
        await store.create(session)
        new_refresh, later = new_id(), now + 7 * DAY
        assert await store.rotate(session.id, session.refresh_token_id, new_refresh, later, now)
        rotated = await store.get(session.id, now + DAY)
        assert rotated == evolve(session, refresh_token_id=new_refresh, expires_at=later)

    async def test_rotate_with_a_stale_refresh_id_fails_and_changes_nothing(self, store, now):
        session = a_session(now)
        await store.create(session)
        assert not await store.rotate(session.id, new_id(), new_id(), now + 2 * DAY, now)
        assert await store.get(session.id, now) == session

    async def test_the_previous_refresh_id_cannot_rotate_again(self, store, now):
        session = a_session(now)
        await store.create(session)
        assert await store.rotate(session.id, session.refresh_token_id, new_id(), now + DAY, now)
        assert not await store.rotate(session.id, session.refresh_token_id, new_id(), now + DAY, now)

    async def test_rotate_of_an_unknown_session_fails(self, store, now):
        assert not await store.rotate(new_id(), new_id(), new_id(), now + DAY, now)

    async def test_rotate_of_an_expired_session_fails(self, store, now):
        session = a_session(now, ttl=dt.timedelta(minutes=5))
        await store.create(session)
        assert not await store.rotate(session.id, session.refresh_token_id, new_id(), now + DAY,
                                      session.expires_at)
        assert await store.get(session.id, session.expires_at) is None

    async def test_rotate_of_a_revoked_session_fails(self, store, now):
        session = a_session(now)
        await store.create(session)
        await store.revoke(session.id)
        assert not await store.rotate(session.id, session.refresh_token_id, new_id(), now + DAY, now)
        assert await store.get(session.id, now) is None

    async def test_exactly_one_of_two_concurrent_rotations_wins(self, store, now):
        session = a_session(now)
        await store.create(session)
        first, second = new_id(), new_id()
        results = await asyncio.gather(
            store.rotate(session.id, session.refresh_token_id, first, now + DAY, now),
            store.rotate(session.id, session.refresh_token_id, second, now + DAY, now),
        )
        assert sorted(results) == [False, True]
        winner = first if results[0] else second
        assert (await store.get(session.id, now)).refresh_token_id == winner

    async def test_exactly_one_of_many_concurrent_rotations_wins(self, store, now):
        session = a_session(now)
        await store.create(session)
        results = await asyncio.gather(*(
            store.rotate(session.id, session.refresh_token_id, new_id(), now + DAY, now) for _ in range(20)))
        assert results.count(True) == 1

    async def test_revoke_ends_the_session_and_is_idempotent(self, store, now):
        session = a_session(now)
        await store.create(session)
        await store.revoke(session.id)
        await store.revoke(session.id)
        assert await store.get(session.id, now) is None

    async def test_revoking_an_unknown_session_is_harmless(self, store, now):
        await store.revoke(new_id())

    async def test_revoke_leaves_the_users_other_sessions_alone(self, store, now):
        user = new_id()
        doomed, kept = a_session(now, user_id=user), a_session(now, user_id=user)
        await store.create(doomed)
        await store.create(kept)
        await store.revoke(doomed.id)
        assert await store.get(kept.id, now) == kept

    async def test_revoke_user_ends_every_session_of_the_user_and_counts_them(self, store, now):
        user = new_id()
        mine = [a_session(now, user_id=user) for _ in range(3)]
        theirs = a_session(now)
        for s in (*mine, theirs):
            await store.create(s)
        assert await store.revoke_user(UserId(user), 1) == 3
        assert [await store.get(s.id, now) for s in mine] == [None, None, None]
        assert await store.get(theirs.id, now) == theirs

    async def test_revoke_user_does_not_count_sessions_already_revoked(self, store, now):
        user = new_id()
        sessions = [a_session(now, user_id=user) for _ in range(3)]
        for s in sessions:
            await store.create(s)
        await store.revoke(sessions[0].id)
        assert await store.revoke_user(UserId(user), 1) == 2
        assert await store.revoke_user(UserId(user), 1) == 0

    async def test_revoke_user_without_sessions_counts_zero(self, store, now):
        assert await store.revoke_user(UserId(new_id()), 1) == 0

    async def test_revoke_user_still_finds_rotated_sessions(self, store, now):
        user = new_id()
        session = a_session(now, user_id=user, ttl=dt.timedelta(minutes=5))
        await store.create(session)
        assert await store.rotate(session.id, session.refresh_token_id, new_id(), now + 30 * DAY, now)
        assert await store.revoke_user(UserId(user), 1) == 1
        assert await store.get(session.id, now) is None

    async def test_a_session_below_the_users_revocation_floor_is_refused_and_not_stored(self, store, now):
        user = new_id()
        await store.revoke_user(UserId(user), 3)
        stale = a_session(now, user_id=user, version=2)
        assert await store.create(stale) is False
        assert await store.get(stale.id, now) is None
        assert await store.create(a_session(now, user_id=user, version=3)) is True
        assert await store.create(a_session(now, user_id=user, version=4)) is True

    async def test_revoke_user_keeps_sessions_that_already_have_the_new_version(self, store, now):
        user = new_id()
        old, new = a_session(now, user_id=user, version=1), a_session(now, user_id=user, version=2)
        await store.create(old)
        await store.create(new)
        assert await store.revoke_user(UserId(user), 2) == 1
        assert await store.get(old.id, now) is None
        assert await store.get(new.id, now) == new

    async def test_the_revocation_floor_never_goes_down(self, store, now):
        user = new_id()
        await store.revoke_user(UserId(user), 5)
        await store.revoke_user(UserId(user), 2)
        assert await store.create(a_session(now, user_id=user, version=4)) is False

    async def test_the_floor_of_one_user_leaves_the_others_alone(self, store, now):
        await store.revoke_user(UserId(new_id()), 9)
        assert await store.create(a_session(now, version=0)) is True

    async def test_no_session_below_the_floor_survives_creations_racing_a_revocation(self, store, now):
        user = new_id()
        stale = [a_session(now, user_id=user, version=0) for _ in range(20)]
        fresh = [a_session(now, user_id=user, version=1) for _ in range(5)]
        calls = [store.create(s) for s in stale[:10]] + [store.revoke_user(UserId(user), 1)] + \
                [store.create(s) for s in stale[10:] + fresh]
        await asyncio.gather(*calls)
        assert [await store.get(s.id, now) for s in stale] == [None] * len(stale)
        assert [await store.get(s.id, now) for s in fresh] == fresh

    async def test_a_user_can_log_in_again_after_revoke_user(self, store, now):
        user = new_id()
        await store.create(a_session(now, user_id=user))
        await store.revoke_user(UserId(user), 1)
        fresh = a_session(now, user_id=user, version=1)
        assert await store.create(fresh)
        assert await store.get(fresh.id, now) == fresh
        assert await store.revoke_user(UserId(user), 2) == 1

    async def test_revoke_user_does_not_count_a_session_already_found_expired(self, store, now):
        user = new_id()
        by_get, by_rotate = (a_session(now, user_id=user, ttl=dt.timedelta(minutes=5)) for _ in range(2))
        await store.create(by_get)
        await store.create(by_rotate)
        assert await store.get(by_get.id, by_get.expires_at) is None
        assert not await store.rotate(by_rotate.id, by_rotate.refresh_token_id, new_id(), now + DAY,
                                      by_rotate.expires_at)
        assert await store.revoke_user(UserId(user), 1) == 0
