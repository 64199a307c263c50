"""The gate in front of password hashing: urgent work first, a slot of its own, bounded queues."""

from __future__ import annotations

import asyncio

import pytest

from adapters.crypto.priority_gate import GateFull, PriorityGate


class Holders:
    """Tasks that enter the gate and stay inside until released; records the order of admission."""

    def __init__(self, gate: PriorityGate) -> None:
        self.gate = gate
        self.admitted: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def _hold(self, name: str, urgent: bool) -> None:
        async with self.gate.enter(urgent=urgent):
            self.admitted.append(name)
            await self.release[name].wait()

    async def start(self, name: str, *, urgent: bool) -> None:
        self.release[name] = asyncio.Event()
        self.tasks[name] = asyncio.create_task(self._hold(name, urgent))
        await asyncio.sleep(0)  # let it reach the gate

    async def finish(self, name: str) -> None:
        self.release[name].set()
        await self.tasks[name]
        await asyncio.sleep(0)


async def test_other_work_never_takes_the_slot_kept_for_urgent_work():
    gate = PriorityGate(2, reserved=1)
    h = Holders(gate)
    for name in ("hash-1", "hash-2", "hash-3"):
        await h.start(name, urgent=False)
    assert h.admitted == ["hash-1"] and gate.waiting(urgent=False) == 2
    await h.start("verify", urgent=True)
    assert h.admitted == ["hash-1", "verify"]


async def test_waiting_urgent_work_is_admitted_before_other_work_that_waited_longer():
    gate = PriorityGate(1)
    h = Holders(gate)
    await h.start("first", urgent=False)
    await h.start("hash", urgent=False)
    await h.start("verify", urgent=True)
    await h.finish("first")
    assert h.admitted == ["first", "verify"]
    await h.finish("verify")
    assert h.admitted == ["first", "verify", "hash"]


async def test_urgent_work_may_use_every_slot():
    gate = PriorityGate(3, reserved=1)
    h = Holders(gate)
    for n in range(3):
        await h.start(f"verify-{n}", urgent=True)
    assert len(h.admitted) == 3 and gate.running(urgent=True) == 3


async def test_a_full_queue_refuses_at_once_with_a_retry_after():
    gate = PriorityGate(2, reserved=1, queue=2)
    h = Holders(gate)
    for n in range(3):
        await h.start(f"hash-{n}", urgent=False)
    with pytest.raises(GateFull) as caught:
        async with gate.enter(urgent=False):
            pass
    assert caught.value.retry_after >= 1
    await h.start("verify", urgent=True)  # urgent work has a queue of its own
    assert "verify" in h.admitted


async def test_a_cancelled_waiter_gives_up_its_place():
    gate = PriorityGate(1)
    h = Holders(gate)
    await h.start("running", urgent=False)
    await h.start("gives-up", urgent=False)
    await h.start("next", urgent=False)
    h.tasks["gives-up"].cancel()
    await asyncio.gather(h.tasks["gives-up"], return_exceptions=True)
    assert gate.waiting(urgent=False) == 1
    await h.finish("running")
    assert h.admitted == ["running", "next"]


async def test_a_waiter_cancelled_just_as_it_is_admitted_hands_the_slot_on():
    gate = PriorityGate(1)
    h = Holders(gate)
    release = asyncio.Event()

    async def running() -> None:
        async with gate.enter(urgent=False):
            await release.wait()
        h.tasks["cancelled"].cancel()  # in the step that admitted it, before it could run

    first = asyncio.create_task(running())
    await asyncio.sleep(0)
    await h.start("cancelled", urgent=False)
    await h.start("next", urgent=False)
    release.set()
    await first
    await asyncio.gather(h.tasks["cancelled"], return_exceptions=True)
    await asyncio.sleep(0)
    assert h.admitted == ["next"]
    assert gate.running(urgent=False) == 1
