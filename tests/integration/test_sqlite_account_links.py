"""The SQLite family's one-time links against the AccountLinkStore contract."""

from __future__ import annotations

import json

import pytest

from adapters.sqlite.meetings import SqliteMeetingRepository
from adapters.sqlite.outbox import SqliteOutbox
from adapters.sqlite.unit_of_work import SqliteUnitOfWorkFactory
from adapters.sqlite.users import SqliteUserRepository
from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.crypto.jwt import JwtTokenCodec
from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.memory.tokens import InMemorySessionStore
from adapters.system.clock import SystemClock
from domain.messaging.relay import OutboxRelay
from domain.users.commands import RegisterUser
from domain.users.service import UserService
from confero_contracts.account_links import AccountLinkStoreContract
from confero_contracts.outbox import Publisher
from tests.integration.sqlite_fixtures import sqlite_db  # noqa: F401  (a fixture)
from tests.integration.test_sqlite_unit_of_work import SqliteFamily


class TestSqliteAccountLinks(AccountLinkStoreContract):
    @pytest.fixture
    async def family(self, sqlite_db):
        return SqliteFamily(SqliteMeetingRepository(sqlite_db), SqliteUserRepository(sqlite_db),
                            SqliteOutbox(sqlite_db), SqliteUnitOfWorkFactory(sqlite_db))


async def test_a_relayed_link_event_keeps_no_token_in_the_outbox_row(sqlite_db):
    users = SqliteUserRepository(sqlite_db)
    uow = SqliteUnitOfWorkFactory(sqlite_db)
    service = UserService(users=users, hasher=Argon2PasswordHasher.fast(), codec=JwtTokenCodec("x" * 40),
                          sessions=InMemorySessionStore(), throttle=InMemoryLoginThrottle(), uow=uow,
                          clock=SystemClock())
    await service.register(RegisterUser(username="carol", email="carol@example.com",
                                        password="correct horse battery staple"))
    publisher = Publisher()
    await OutboxRelay(outbox=SqliteOutbox(sqlite_db), publisher=publisher).drain()
    (asked,) = [e for e in publisher.published if e.name == "user.email_verification_requested"]
    async with sqlite_db.connection() as conn:
        async with conn.execute("SELECT payload FROM outbox WHERE name = ?", (asked.name,)) as cur:
            (payload,) = await cur.fetchone()
    assert len(asked.token) == 43 and "token" not in json.loads(payload)
    assert json.loads(payload)["email"] == "carol@example.com"
