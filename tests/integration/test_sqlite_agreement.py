"""The SQLite repositories and the in-memory oracle, driven by the same random operations as the
PostgreSQL ones (tests/integration/test_postgres_agreement.py), must return equal results or raise the
same error type."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

import tests.integration.test_postgres_agreement as agreement
from adapters.memory.meeting_queries import InMemoryMeetingQueries
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.users import InMemoryUserRepository
from adapters.sqlite.database import open_database
from adapters.sqlite.meeting_queries import SqliteMeetingQueries
from adapters.sqlite.meetings import SqliteMeetingRepository
from adapters.sqlite.users import SqliteUserRepository
from domain.shared.ids import new_id


class SqliteRepositoriesAgree(agreement.RepositoriesAgree):
    """The same rules; the side the machine calls "pg" is a fresh SQLite file."""

    def __init__(self, folder: Path) -> None:
        RuleBasedStateMachine.__init__(self)
        self.runner = asyncio.Runner()
        self.stack = contextlib.AsyncExitStack()
        db = self.run(self.stack.enter_async_context(open_database(str(folder / f"{new_id()}.sqlite3"))))
        self.pg_users, self.pg_meetings = SqliteUserRepository(db), SqliteMeetingRepository(db)
        self.mem_users, self.mem_meetings = InMemoryUserRepository(), InMemoryMeetingRepository()
        self.pg_queries, self.mem_queries = SqliteMeetingQueries(db), InMemoryMeetingQueries(self.mem_meetings)
        self.user_ids = []
        self.meeting_ids = []


def test_sqlite_repositories_agree_with_the_in_memory_ones(tmp_path):
    run_state_machine_as_test(lambda: SqliteRepositoriesAgree(tmp_path), settings=agreement.AGREEMENT)
