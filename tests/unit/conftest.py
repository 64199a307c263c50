"""Shared builders for the domain unit tests: services composed on memory adapters, never mocks.

Fixture names start with ``domain_`` (or name the service) so that other test modules in this folder
can define their own fixtures without clashing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.crypto.jwt import JwtTokenCodec
from adapters.memory.meeting_queries import InMemoryMeetingQueries
from adapters.memory.limits import InMemoryAttemptLimiter
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.memory.tokens import InMemorySessionStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from adapters.system.clock import FrozenClock
from domain.meetings.service import MeetingService
from domain.users import commands as uc
from domain.users.model import Role, User
from domain.users.service import UserService

START = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)
JWT_SECRET = "unit-test-secret-that-is-long-enough-0123456789"
GOOD_PASSWORD = "correct horse battery staple"


def build_user_service(*, users: InMemoryUserRepository, clock: FrozenClock, outbox: InMemoryOutbox,
                       hasher: Argon2PasswordHasher, meetings: InMemoryMeetingRepository | None = None) -> UserService:
    uow = InMemoryUnitOfWorkFactory(meetings or InMemoryMeetingRepository(), users, outbox)
    return UserService(users=users, hasher=hasher, codec=JwtTokenCodec(JWT_SECRET),
                       sessions=InMemorySessionStore(), throttle=InMemoryLoginThrottle(), uow=uow, clock=clock)


async def register(service: UserService, name: str, *, password: str = GOOD_PASSWORD, admin: bool = False,
                   verified: bool = True) -> User:
    """A new user whose address is verified (as if its link was followed), unless ``verified=False``."""
    user = await service.register(uc.RegisterUser(username=name, email=f"{name}@example.com", password=password),
                                  role=Role.ADMIN if admin else Role.USER)
    return await verify(service, user) if verified else user


async def verify(service: UserService, user: User) -> User:
    stored = await service.users.get(user.id)
    stored.email_verified = True
    await service.users.save(stored)
    return stored


@pytest.fixture(scope="session")
def domain_hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher.fast()


@pytest.fixture
def domain_clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def domain_users() -> InMemoryUserRepository:
    return InMemoryUserRepository()


@pytest.fixture
def user_service(domain_users, domain_meetings, domain_clock, domain_outbox, domain_hasher) -> UserService:
    return build_user_service(users=domain_users, clock=domain_clock, outbox=domain_outbox, hasher=domain_hasher,
                              meetings=domain_meetings)


@pytest.fixture
def domain_meetings() -> InMemoryMeetingRepository:
    return InMemoryMeetingRepository()


@pytest.fixture
def domain_outbox() -> InMemoryOutbox:
    return InMemoryOutbox()


@pytest.fixture
def domain_uow(domain_meetings, domain_users, domain_outbox) -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory(domain_meetings, domain_users, domain_outbox)


@pytest.fixture
def meeting_service(domain_uow, domain_meetings, domain_users, domain_clock, domain_hasher) -> MeetingService:
    return MeetingService(uow=domain_uow, meetings=domain_meetings, queries=InMemoryMeetingQueries(domain_meetings),
                          users=domain_users, hasher=domain_hasher, clock=domain_clock,
                          guesses=InMemoryAttemptLimiter())
