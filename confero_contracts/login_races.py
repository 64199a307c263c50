"""Logins under real concurrency, run against each family of session store and throttle.

Real argon2 cost (``Argon2PasswordHasher()``), requests released together from an asyncio barrier, and
logins held inside the password check while a revocation runs.  Subclasses give ``stores``.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable
from typing import Any

import pytest

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.crypto.jwt import JwtTokenCodec
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from adapters.system.clock import SystemClock
from domain.shared.errors import DomainError, Unavailable
from domain.users import commands as uc
from domain.users.errors import InvalidCredentials, InvalidToken, TooManyLoginAttempts, UserBanned
from domain.users.model import Role
from domain.users.service import UserService
from domain.users.throttling import AttemptLimits
from ports.users import LoginThrottle, SessionStore

SECRET = "login-race-test-secret-long-enough-0123456789"
PASSWORD = "correct horse battery staple"
GUESSES = 150
LIMITS = AttemptLimits()
REAL_ARGON2 = Argon2PasswordHasher()  # one per process, as in production: its gate is shared


class HeldHasher:
    """The real hasher, counting password checks; ``hold()`` parks the next check after it is
    entered until the test releases it (a login caught in the middle of its slow step)."""

    def __init__(self, inner: Argon2PasswordHasher) -> None:
        self.inner = inner
        self.checked = 0
        self._hold: tuple[asyncio.Event, asyncio.Event] | None = None

    def hold(self) -> tuple[asyncio.Event, asyncio.Event]:
        self._hold = (asyncio.Event(), asyncio.Event())
        return self._hold

    async def hash(self, password: str) -> str:
        return await self.inner.hash(password)

    async def verify(self, password_hash: str, password: str) -> bool:
        self.checked += 1
        held, self._hold = self._hold, None
        ok = await self.inner.verify(password_hash, password)
        if held is not None:
            entered, release = held
            entered.set()
            await release.wait()
        return ok


async def together(calls: list[Awaitable]) -> list:  # type: ignore[type-arg]
    """Starts every call at once: each task waits at one barrier, then calls; errors are results."""
    barrier = asyncio.Barrier(len(calls))

    async def one(call):  # type: ignore[no-untyped-def]
        await barrier.wait()
        try:
            return await call
        except DomainError as err:
            return err

    return await asyncio.gather(*(one(c) for c in calls))


def login(name: str = "alice", password: str = PASSWORD, address: str = "198.51.100.7",
          client: str | None = None) -> uc.LogIn:
    return uc.LogIn(login=name, password=password, client_address=address, client_token=client)


def refused_unchecked(results: list[Any]) -> int:
    """Guesses refused without a password check: throttled, or failed closed when the limiter's store did
    not answer in time (a loaded machine once made some Redis calls time out).  The throttle must have
    acted, and the hasher's count (asserted beside) proves no refused guess was checked."""
    assert any(isinstance(r, TooManyLoginAttempts) for r in results)
    return sum(isinstance(r, TooManyLoginAttempts | Unavailable) for r in results)


class LoginRaceSuite:
    @pytest.fixture
    async def stores(self) -> tuple[SessionStore, LoginThrottle]:
        raise NotImplementedError

    @pytest.fixture
    async def hasher(self) -> HeldHasher:
        return HeldHasher(REAL_ARGON2)

    @pytest.fixture
    async def service(self, stores, hasher) -> UserService:
        sessions, throttle = stores
        users = InMemoryUserRepository()
        uow = InMemoryUnitOfWorkFactory(InMemoryMeetingRepository(), users, InMemoryOutbox())
        return UserService(users=users, hasher=hasher, codec=JwtTokenCodec(SECRET),
                           sessions=sessions, throttle=throttle, uow=uow, clock=SystemClock(), limits=LIMITS)

    async def sign_up(self, service: UserService, name: str, role: Role = Role.USER):  # type: ignore[no-untyped-def]
        return await service.register(
            uc.RegisterUser(username=name, email=f"{name}@example.com", password=PASSWORD), role=role)

    # -- class 2: guesses cannot outrun the throttle ---------------------------------------------------

    async def test_parallel_guesses_from_one_address_check_at_most_the_limit_and_the_owner_gets_in(
            self, service, hasher):
        await self.sign_up(service, "alice")
        owner, _ = await service.login(login(address="192.0.2.10"))
        hasher.checked = 0
        started = time.monotonic()
        results = await together([service.login(login(password=f"guess {i:04}", address="203.0.113.9"))
                                  for i in range(GUESSES)]
                                 + [service.login(login(address="192.0.2.10", client=owner.client_token))])
        elapsed = time.monotonic() - started
        guesses, mine = results[:-1], results[-1]
        print(f"\n{GUESSES} parallel guesses from one address: {hasher.checked - 1} checked, {elapsed:.2f} s")
        assert hasher.checked - 1 <= LIMITS.per_client
        assert sum(isinstance(r, InvalidCredentials) for r in guesses) <= LIMITS.per_client
        assert refused_unchecked(guesses) >= GUESSES - LIMITS.per_client, \
            collections.Counter(type(r).__name__ for r in guesses)
        assert not isinstance(mine, DomainError), mine
        await service.authenticate(mine[0].access_token)

    async def test_parallel_guesses_from_many_addresses_are_held_to_the_accounts_budget(self, service, hasher):
        await self.sign_up(service, "alice")
        owner, _ = await service.login(login(address="192.0.2.10"))
        hasher.checked = 0
        results = await together([service.login(login(password=f"guess {i:04}", address=f"10.0.{i // 250}.{i % 250}"))
                                  for i in range(GUESSES)]
                                 + [service.login(login(address="192.0.2.99", client=owner.client_token))])
        print(f"\n{GUESSES} parallel guesses from {GUESSES} addresses: {hasher.checked - 1} checked")
        assert hasher.checked - 1 <= LIMITS.per_login
        assert refused_unchecked(results[:-1]) >= GUESSES - LIMITS.per_login, \
            collections.Counter(type(r).__name__ for r in results[:-1])
        assert not isinstance(results[-1], DomainError), results[-1]

    async def test_the_right_password_sent_while_40_wrong_ones_are_being_checked_is_not_let_in(
            self, service, hasher):
        await self.sign_up(service, "alice")
        barrier = asyncio.Barrier(40)

        async def guess(i: int):  # type: ignore[no-untyped-def]
            await barrier.wait()
            try:
                return await service.login(login(password=f"guess {i:04}", address="203.0.113.9"))
            except DomainError as err:
                return err

        guesses = [asyncio.create_task(guess(i)) for i in range(40)]
        # Every guess has passed the throttle: it is being checked, or it was refused.
        while hasher.checked + sum(t.done() and isinstance(t.result(), TooManyLoginAttempts) for t in guesses) < 40:
            await asyncio.sleep(0.005)
        with pytest.raises(TooManyLoginAttempts):
            await service.login(login(address="203.0.113.9"))
        results = await asyncio.gather(*guesses)
        assert hasher.checked <= LIMITS.per_client
        assert sum(isinstance(r, InvalidCredentials) for r in results) == hasher.checked

    # -- class 3: a revocation wins over a login that was already checking the password ----------------

    async def held_login(self, service, hasher, cmd):  # type: ignore[no-untyped-def]
        entered, release = hasher.hold()
        task = asyncio.create_task(service.login(cmd))
        await entered.wait()
        return task, release

    async def assert_no_session_came_of_it(self, service, task, release):  # type: ignore[no-untyped-def]
        release.set()
        try:
            pair, _ = await task
        except (InvalidCredentials, UserBanned):
            return
        with pytest.raises(InvalidToken):  # had the login got through, its tokens must not work
            await service.authenticate(pair.access_token)
        with pytest.raises((InvalidToken, UserBanned)):
            await service.refresh(pair.refresh_token)

    async def test_a_login_in_progress_when_the_user_is_banned_gets_no_working_session(self, service, hasher):
        alice = await self.sign_up(service, "alice")
        await self.sign_up(service, "root", Role.ADMIN)
        root, _ = await service.login(login("root"))
        as_root = await service.authenticate(root.access_token)
        task, release = await self.held_login(service, hasher, login())
        await service.ban(as_root, alice.id)
        await self.assert_no_session_came_of_it(service, task, release)
        assert await service.sessions.revoke_user(alice.id, 0) == 0  # nothing of alice's is live

    async def test_a_login_with_the_old_password_in_progress_during_a_password_change_gets_nothing(
            self, service, hasher):
        alice = await self.sign_up(service, "alice")
        pair, _ = await service.login(login())
        me = await service.authenticate(pair.access_token)
        task, release = await self.held_login(service, hasher, login(address="203.0.113.9"))
        await service.update_profile(me, uc.UpdateProfile(user_id=alice.id, password="a brand new secret",
                                                          current_password=PASSWORD))
        await self.assert_no_session_came_of_it(service, task, release)
        with pytest.raises(InvalidCredentials):
            await service.login(login())
        await service.login(login(password="a brand new secret"))

    async def test_a_login_in_progress_during_a_demotion_does_not_keep_the_admin_role(self, service, hasher):
        bob = await self.sign_up(service, "bob", Role.ADMIN)
        await self.sign_up(service, "root", Role.ADMIN)
        root, _ = await service.login(login("root"))
        as_root = await service.authenticate(root.access_token)
        task, release = await self.held_login(service, hasher, login("bob"))
        await service.set_role(as_root, uc.SetRole(user_id=bob.id, role=Role.USER))
        await self.assert_no_session_came_of_it(service, task, release)
        again, _ = await service.login(login("bob"))
        assert not (await service.authenticate(again.access_token)).is_admin
