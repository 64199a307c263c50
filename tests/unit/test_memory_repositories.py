"""The in-memory adapters against the port contracts: they are the oracle, so they must pass them."""

from __future__ import annotations

import pytest

from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.users import InMemoryUserRepository
from tests.contracts.meetings import MeetingRepositoryContract
from tests.contracts.users import UserRepositoryContract


class TestInMemoryUserRepository(UserRepositoryContract):
    @pytest.fixture
    async def repo(self):
        return InMemoryUserRepository()


class TestInMemoryMeetingRepository(MeetingRepositoryContract):
    @pytest.fixture
    async def repo(self):
        return InMemoryMeetingRepository()
