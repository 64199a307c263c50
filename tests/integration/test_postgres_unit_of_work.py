from __future__ import annotations

import asyncio

import pytest
from attrs import define

from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.outbox import PostgresOutbox
from adapters.postgres.pool import open_pool
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.postgres.users import PostgresUserRepository
from domain.messaging.relay import OutboxRelay
from confero_contracts.events import happened
from confero_contracts.outbox import Publisher, UnitOfWorkContract
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401


@define
class PostgresFamily:
    meetings: PostgresMeetingRepository
    users: PostgresUserRepository
    outbox: PostgresOutbox
    uow: PostgresUnitOfWorkFactory


class TestPostgresUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    async def family(self, pg_pool):
        return PostgresFamily(PostgresMeetingRepository(pg_pool), PostgresUserRepository(pg_pool),
                              PostgresOutbox(pg_pool), PostgresUnitOfWorkFactory(pg_pool))


async def test_relays_of_two_processes_never_publish_one_record_twice(pg_pool):
    """Relays with their own outbox objects (as in two processes) drain together, held at a barrier."""
    uow = PostgresUnitOfWorkFactory(pg_pool)
    for n in range(40):
        async with uow() as unit:
            unit.collect(happened(n % 60))
            await unit.commit()
    publishers = [Publisher() for _ in range(3)]
    shared: list = []
    for p in publishers:
        p.published = shared  # one timeline: the order in which the relays, together, published
    relays = [OutboxRelay(outbox=PostgresOutbox(pg_pool), publisher=p, batch_size=5) for p in publishers]
    barrier = asyncio.Barrier(len(relays))

    async def run(relay: OutboxRelay) -> int:
        await barrier.wait()
        sent = 0
        for _ in range(40):
            sent += await relay.relay_batch()
            await asyncio.sleep(0)
        return sent

    sent = await asyncio.gather(*(run(r) for r in relays))
    assert sum(sent) == 40
    assert [e.payload()["n"] for e in shared] == list(range(40))  # once each, in commit order


async def test_the_commit_wakes_the_relay(pg_pool):
    woken: list[int] = []
    uow = PostgresUnitOfWorkFactory(pg_pool, on_commit=lambda: woken.append(1))
    async with uow() as unit:
        await unit.commit()  # nothing to say: nobody is woken
    async with uow() as unit:
        unit.collect(happened(1))
        await unit.commit()
    assert woken == [1]


async def test_a_connection_released_inside_a_transaction_comes_back_clean(pg_pool, postgres_dsn):
    """The pool skips asyncpg's reset query (adapters/postgres/pool.py); an open transaction must
    still end with the release.  One connection, so the second acquire gets the same one."""
    async with open_pool(postgres_dsn, min_size=1, max_size=1) as pool:
        conn = await pool.acquire()
        pid = conn.get_server_pid()
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO outbox (event_id, name, occurred_at, payload) VALUES ('x', 'n', now(), '{}')")
        await pool.release(conn)
        async with pool.acquire() as again:
            assert again.get_server_pid() == pid  # the same server connection
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT count(*) FROM outbox") == 0
