"""The embedded family with a persistent store: ``APP_SQLITE_PATH`` set (and ``APP_ADAPTERS=memory``).

The memory family, except that users, meetings, sessions and the outbox live in one SQLite file, so
a laptop demo keeps its accounts and meetings across restarts with no server, and events committed
just before a stop are relayed after the next start.  Same provider names as
``runners.containers.MemoryAdapters`` (it is a subclass); the database is an async Resource, so the
providers that use it are awaitable (``runners.containers.resolve``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from dependency_injector import providers

from adapters.sqlite.database import SqliteDatabase, open_database
from adapters.sqlite.meeting_queries import SqliteMeetingQueries
from adapters.sqlite.meetings import SqliteMeetingRepository
from adapters.sqlite.outbox import SqliteOutbox
from adapters.sqlite.sessions import SqliteSessionStore
from adapters.sqlite.unit_of_work import SqliteUnitOfWorkFactory
from adapters.sqlite.users import SqliteUserRepository
from adapters.sqlite.webhooks import SqliteWebhookStore
from runners.containers import MemoryAdapters
from runners.settings import Settings

log = logging.getLogger(__name__)


async def sqlite_database(settings: Settings) -> AsyncIterator[SqliteDatabase]:
    async with open_database(settings.sqlite_path) as db:
        log.info("sqlite store open", extra={"path": settings.sqlite_path})
        yield db


class SqliteAdapters(MemoryAdapters):
    database = providers.Resource(sqlite_database, MemoryAdapters.settings)

    users = providers.Singleton(SqliteUserRepository, database)
    meetings = providers.Singleton(SqliteMeetingRepository, database)
    meeting_queries = providers.Singleton(SqliteMeetingQueries, database)
    sessions = providers.Singleton(SqliteSessionStore, database)
    outbox = providers.Singleton(SqliteOutbox, database)
    uow = providers.Singleton(SqliteUnitOfWorkFactory, database, on_commit=MemoryAdapters.commit_signal.provided.notify)
    webhooks = providers.Singleton(SqliteWebhookStore, database)
