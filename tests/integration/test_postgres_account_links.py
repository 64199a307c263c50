"""The PostgreSQL family's one-time links against the AccountLinkStore contract."""

from __future__ import annotations

import asyncio
import json

import pytest

from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.outbox import PostgresOutbox
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.postgres.users import PostgresUserRepository
from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.crypto.jwt import JwtTokenCodec
from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.memory.tokens import InMemorySessionStore
from adapters.system.clock import SystemClock
from domain.messaging.relay import OutboxRelay
from domain.users.commands import RegisterUser
from domain.users.errors import LinkInvalid
from domain.users.links_service import AccountLinkService
from domain.users.service import UserService
from confero_contracts.account_links import AccountLinkStoreContract
from confero_contracts.outbox import Publisher
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401
from tests.integration.test_postgres_unit_of_work import PostgresFamily

PASSWORD = "correct horse battery staple"


class TestPostgresAccountLinks(AccountLinkStoreContract):
    @pytest.fixture
    async def family(self, pg_pool):
        return PostgresFamily(PostgresMeetingRepository(pg_pool), PostgresUserRepository(pg_pool),
                              PostgresOutbox(pg_pool), PostgresUnitOfWorkFactory(pg_pool))


@pytest.fixture
async def services(pg_pool):
    """Both user services on PostgreSQL (sessions and throttle in memory: the race is on the link),
    with argon2 at its production cost."""
    repo, uow, clock = PostgresUserRepository(pg_pool), PostgresUnitOfWorkFactory(pg_pool), SystemClock()
    sessions, throttle, hasher = InMemorySessionStore(), InMemoryLoginThrottle(), Argon2PasswordHasher()
    users = UserService(users=repo, hasher=hasher, codec=JwtTokenCodec("x" * 40), sessions=sessions,
                        throttle=throttle, uow=uow, clock=clock)
    links = AccountLinkService(users=repo, hasher=hasher, sessions=sessions, throttle=throttle, uow=uow, clock=clock)
    return users, links


async def test_two_confirmations_of_one_reset_link_at_a_barrier_exactly_one_wins(services, pg_pool):
    users, links = services
    user = await users.register(RegisterUser(username="alice", email="alice@example.com", password=PASSWORD))
    await links.request_password_reset("alice@example.com", "")
    token = await _token(pg_pool, "user.password_reset_requested")
    barrier = asyncio.Barrier(2)

    async def confirm(password: str) -> str | None:
        await barrier.wait()
        try:
            await links.reset_password(token, password)
        except LinkInvalid:
            return None
        return password

    results = await asyncio.gather(confirm("first new pass phrase"), confirm("second new pass phrase"))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    stored = await PostgresUserRepository(pg_pool).get(user.id)
    assert stored.security_version == 1
    assert await Argon2PasswordHasher().verify(stored.password_hash, winners[0])
    names = [r["name"] for r in await pg_pool.fetch("SELECT name FROM outbox ORDER BY position")]
    assert names.count("user.password_changed") == 1


async def test_two_confirmations_of_one_verification_link_at_a_barrier_exactly_one_wins(services, pg_pool):
    users, links = services
    await users.register(RegisterUser(username="bob", email="bob@example.com", password=PASSWORD))
    token = await _token(pg_pool, "user.email_verification_requested")
    barrier = asyncio.Barrier(3)

    async def confirm() -> bool:
        await barrier.wait()
        try:
            await links.confirm_email(token)
        except LinkInvalid:
            return False
        return True

    assert sorted(await asyncio.gather(*(confirm() for _ in range(3)))) == [False, False, True]


async def test_a_relayed_link_event_keeps_no_token_in_the_outbox_row(services, pg_pool):
    users, _ = services
    await users.register(RegisterUser(username="carol", email="carol@example.com", password=PASSWORD))
    token = await _token(pg_pool, "user.email_verification_requested")
    publisher = Publisher()
    await OutboxRelay(outbox=PostgresOutbox(pg_pool), publisher=publisher).drain()
    assert [e.token for e in publisher.published if e.name == "user.email_verification_requested"] == [token]
    rows = await pg_pool.fetch("SELECT name, payload, sent_at FROM outbox")
    assert rows and all(r["sent_at"] is not None for r in rows)
    payload = json.loads(next(r["payload"] for r in rows if r["name"] == "user.email_verification_requested"))
    assert "token" not in payload and payload["email"] == "carol@example.com"
    assert token not in " ".join(r["payload"] for r in rows)


async def _token(pool, name: str) -> str:  # type: ignore[no-untyped-def]
    payload = await pool.fetchval("SELECT payload FROM outbox WHERE name = $1 ORDER BY position DESC LIMIT 1", name)
    return json.loads(payload)["token"]
