"""The memory RecordingRepository (the oracle) against its contract, plain and through the unit."""

from __future__ import annotations

import pytest

from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.recordings import InMemoryRecordingRepository
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from confero_contracts.recordings import RecordingRepositoryContract


class TestInMemoryRecordingRepository(RecordingRepositoryContract):
    @pytest.fixture
    async def repo(self):
        return InMemoryRecordingRepository()

    @pytest.fixture
    async def units(self, repo):
        return InMemoryUnitOfWorkFactory(InMemoryMeetingRepository(), InMemoryUserRepository(), InMemoryOutbox(),
                                         recordings=repo)
