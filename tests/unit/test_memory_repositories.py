"""The in-memory adapters against the port contracts: they are the oracle, so they must pass them."""

from __future__ import annotations

import pytest

from adapters.memory.meeting_queries import InMemoryMeetingQueries
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.users import InMemoryUserRepository
from confero_contracts.meeting_queries import MeetingQueriesContract
from confero_contracts.meetings import MeetingRepositoryContract
from confero_contracts.users import UserRepositoryContract


class TestInMemoryUserRepository(UserRepositoryContract):
    @pytest.fixture
    async def repo(self):
        return InMemoryUserRepository()


class TestInMemoryMeetingRepository(MeetingRepositoryContract):
    @pytest.fixture
    async def repo(self):
        return InMemoryMeetingRepository()


class TestInMemoryMeetingQueries(MeetingQueriesContract):
    @pytest.fixture
    async def repo(self):
        return InMemoryMeetingRepository()

    @pytest.fixture
    async def queries(self, repo):
        return InMemoryMeetingQueries(repo)
