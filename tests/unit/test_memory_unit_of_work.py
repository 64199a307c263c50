from __future__ import annotations

import pytest
from attrs import define

from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from confero_contracts.outbox import UnitOfWorkContract


@define
class MemoryFamily:
    meetings: InMemoryMeetingRepository
    users: InMemoryUserRepository
    outbox: InMemoryOutbox
    uow: InMemoryUnitOfWorkFactory


class TestInMemoryUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    async def family(self):
        meetings, users, outbox = InMemoryMeetingRepository(), InMemoryUserRepository(), InMemoryOutbox()
        return MemoryFamily(meetings, users, outbox, InMemoryUnitOfWorkFactory(meetings, users, outbox))
