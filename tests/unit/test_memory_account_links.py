"""The memory family's one-time links against the AccountLinkStore contract."""

from __future__ import annotations

import pytest

from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from confero_contracts.account_links import AccountLinkStoreContract
from tests.unit.test_memory_unit_of_work import MemoryFamily


class TestInMemoryAccountLinks(AccountLinkStoreContract):
    @pytest.fixture
    async def family(self):
        meetings, users, outbox = InMemoryMeetingRepository(), InMemoryUserRepository(), InMemoryOutbox()
        return MemoryFamily(meetings, users, outbox, InMemoryUnitOfWorkFactory(meetings, users, outbox))
