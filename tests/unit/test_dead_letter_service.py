from __future__ import annotations

import pytest

from adapters.memory.events import InMemoryEventBus
from domain.messaging.dead_letters import DeadLetterService
from domain.messaging.errors import AdministratorsOnly
from domain.shared.actor import Actor
from domain.shared.pagination import PageRequest
from confero_contracts.events import Recorder, happened

ADMIN, USER = Actor("00000000-0000-0000-0000-00000000000a", is_admin=True), Actor("00000000-0000-0000-0000-00000000000b")


async def test_administrators_see_and_replay_dead_letters_and_nobody_else_does():
    bus = InMemoryEventBus(max_attempts=1, retry_delay=3600)
    rec = Recorder(fail_on={1: 1})
    bus.subscribe(rec)
    await bus.publish(happened(1), happened(2))
    service = DeadLetterService(bus.dead_letters)
    with pytest.raises(AdministratorsOnly):
        await service.list(USER, PageRequest())
    [letter] = (await service.list(ADMIN, PageRequest())).items
    with pytest.raises(AdministratorsOnly):
        await service.replay(USER, letter.id)
    assert await bus.dead_letters.count() == 1
    await service.replay(ADMIN, letter.id)
    assert rec.numbers == [2, 1] and await bus.dead_letters.count() == 0
