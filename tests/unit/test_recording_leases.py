"""The owner's lease of a recording with two processes over the memory store (scenarios in
tests/support/recording_leases.py)."""

from __future__ import annotations

import pytest

from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.recordings import InMemoryRecordingRepository
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from tests.support.recording_leases import SCENARIOS, TwoProcesses


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_two_processes(scenario):
    meetings = InMemoryMeetingRepository()
    uow = InMemoryUnitOfWorkFactory(meetings, InMemoryUserRepository(), InMemoryOutbox(),
                                    recordings=InMemoryRecordingRepository())
    await scenario(TwoProcesses(uow, meetings.add))
