"""UnitOfWork + Outbox + OutboxRelay contract (ports/uow.py, ports/outbox.py), run against each family.

A subclass provides ``family``: a ``UnitFamily`` whose unit factory, outbox and plain repositories
share one store (the repositories read what units committed)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Protocol

import pytest

from adapters.memory.events import InMemoryEventBus
from domain.messaging.relay import OutboxRelay
from domain.meetings.events import MeetingUpdated
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Participant
from domain.shared.errors import ConcurrentModification, Unavailable
from domain.shared.events import DomainEvent
from ports.meetings import MeetingRepository
from ports.outbox import Outbox
from ports.uow import UnitOfWorkFactory
from ports.users import UserRepository
from confero_contracts.events import Happened, happened
from confero_contracts.factories import T0, a_busy_meeting, a_meeting, a_user, a_user_id


class UnitFamily(Protocol):
    uow: UnitOfWorkFactory
    outbox: Outbox
    meetings: MeetingRepository
    users: UserRepository


def scheduled() -> Any:
    """A new meeting carrying a MeetingCreated-like event, as Meeting.schedule leaves it."""
    meeting = a_meeting()
    meeting._events.append(happened(1))
    return meeting


async def pending(outbox: Outbox, limit: int = 1000) -> list[DomainEvent]:
    async with outbox.claim(limit) as batch:
        return [r.event for r in batch.records]


def updated(meeting_id: str, n: int) -> MeetingUpdated:
    return MeetingUpdated(occurred_at=T0, meeting_id=meeting_id, fields=(f"f{n}",))


class Publisher:
    """An EventPublisher that records what it took and can be told to hang inside a publish call."""

    def __init__(self, hang_after: int | None = None) -> None:
        self.bus = InMemoryEventBus()
        self.published: list[DomainEvent] = []
        self._hang_after = hang_after
        self.hanging = asyncio.Event()

    async def publish(self, *events: DomainEvent) -> None:
        for event in events:
            if self._hang_after is not None and len(self.published) >= self._hang_after:
                self.hanging.set()
                await asyncio.Event().wait()  # killed here
            self.published.append(event)
            await self.bus.publish(event)


class UnitOfWorkContract:
    @pytest.fixture
    async def family(self) -> UnitFamily:
        raise NotImplementedError

    # -- the unit of work --------------------------------------------------------------------------

    async def test_a_commit_keeps_the_change_and_writes_its_events_to_the_outbox_in_order(self, family):
        meeting = scheduled()
        async with family.uow() as uow:
            await uow.meetings.add(meeting)
            meeting.title = "Renamed"
            meeting._events.append(updated(meeting.id, 2))
            await uow.meetings.save(meeting)
            uow.collect(updated(meeting.id, 3))
            await uow.commit()
        stored = await family.meetings.get(meeting.id)
        assert stored.title == "Renamed" and stored.version == meeting.version == 1
        events = await pending(family.outbox)
        assert [(e.name, getattr(e, "fields", None)) for e in events] == [
            ("test.happened", None), ("meeting.updated", ("f2",)), ("meeting.updated", ("f3",))]

    async def test_events_come_back_typed_and_equal(self, family):
        meeting = a_meeting()
        event = Happened(occurred_at=T0, n=9, tags=("a", "ü"), at=T0)
        meeting._events.append(event)
        async with family.uow() as uow:
            await uow.meetings.add(meeting)
            await uow.commit()
        assert await pending(family.outbox) == [event]

    async def test_a_meeting_with_every_field_set_round_trips_through_units(self, family):
        meeting = a_busy_meeting()
        async with family.uow() as uow:
            await uow.meetings.add(meeting)
            await uow.commit()
        assert await family.meetings.get(meeting.id) == meeting
        async with family.uow() as uow:
            loaded = await uow.meetings.get(meeting.id)
            gone, stays = sorted(loaded.participants)
            del loaded.participants[gone]
            newcomer = a_user_id()
            loaded.participants[newcomer] = Participant(user_id=newcomer, joined_at=T0)
            loaded.attendees = {stays, newcomer}
            loaded.kicked.add(gone)
            await uow.meetings.save(loaded)
            await uow.commit()
        assert await family.meetings.get(meeting.id) == loaded

    async def test_leaving_without_commit_keeps_nothing(self, family):
        meeting = scheduled()
        async with family.uow() as uow:
            await uow.meetings.add(meeting)
            uow.collect(happened(2))
        with pytest.raises(MeetingNotFound):
            await family.meetings.get(meeting.id)
        assert await pending(family.outbox) == []

    async def test_an_exception_in_the_unit_rolls_everything_back(self, family):
        meeting = a_meeting()
        async with family.uow() as uow:
            await uow.meetings.add(meeting)
            await uow.commit()
        with pytest.raises(RuntimeError):
            async with family.uow() as uow:
                loaded = await uow.meetings.get(meeting.id)
                loaded.title = "Never"
                loaded._events.append(happened(5))
                await uow.meetings.save(loaded)
                raise RuntimeError("the use case failed")
        assert (await family.meetings.get(meeting.id)).title == meeting.title
        assert await pending(family.outbox) == []

    async def test_a_unit_reads_its_own_writes(self, family):
        meeting = a_meeting()
        async with family.uow() as uow:
            await uow.meetings.add(meeting)
            assert (await uow.meetings.get(meeting.id)).title == meeting.title
            user = a_user()
            await uow.users.add(user)
            assert (await uow.users.get(user.id)).username == user.username
            await uow.commit()
        assert (await family.users.get(user.id)).username == user.username

    async def test_of_two_units_saving_one_version_exactly_one_commits(self, family):
        meeting = a_meeting()
        async with family.uow() as uow:
            await uow.meetings.add(meeting)
            await uow.commit()
        first, second = await family.meetings.get(meeting.id), await family.meetings.get(meeting.id)
        first.title, second.title = "First", "Second"
        first._events.append(happened(1))
        second._events.append(happened(2))
        async with family.uow() as uow:
            await uow.meetings.save(first)
            await uow.commit()
        with pytest.raises(ConcurrentModification):
            async with family.uow() as uow:
                await uow.meetings.save(second)
                await uow.commit()
        assert (await family.meetings.get(meeting.id)).title == "First"
        assert [e.payload()["n"] for e in await pending(family.outbox)] == [1]

    async def test_a_unit_that_decided_on_a_meeting_changed_meanwhile_is_refused(self, family):
        meeting = a_meeting()
        async with family.uow() as uow:
            await uow.meetings.add(meeting)
            await uow.commit()
        with pytest.raises(ConcurrentModification):
            async with family.uow() as slow:
                loaded = await slow.meetings.get(meeting.id)
                async with family.uow() as fast:
                    other = await fast.meetings.get(meeting.id)
                    other.title = "Fast"
                    await fast.meetings.save(other)
                    await fast.commit()
                loaded.title = "Slow"
                loaded._events.append(happened(1))
                await slow.meetings.save(loaded)
                await slow.commit()
        assert (await family.meetings.get(meeting.id)).title == "Fast"
        assert await pending(family.outbox) == []

    async def test_a_failed_commit_writes_nothing(self, family):
        taken = a_user()
        async with family.uow() as uow:
            await uow.users.add(taken)
            await uow.commit()
        meeting = scheduled()
        with pytest.raises(Exception) as raised:
            async with family.uow() as uow:
                await uow.meetings.add(meeting)
                await uow.users.add(a_user(username=taken.username))
                await uow.commit()
        assert type(raised.value).__name__ == "UsernameTaken"
        with pytest.raises(MeetingNotFound):
            await family.meetings.get(meeting.id)
        assert await pending(family.outbox) == []

    async def test_a_unit_commits_once(self, family):
        async with family.uow() as uow:
            await uow.commit()
            with pytest.raises(RuntimeError):
                await uow.commit()

    # -- the outbox --------------------------------------------------------------------------------

    async def test_records_come_in_commit_order_up_to_the_limit_until_marked_sent(self, family):
        for n in range(5):
            async with family.uow() as uow:
                uow.collect(happened(n))
                await uow.commit()
        async with family.outbox.claim(3) as batch:
            assert [r.event.payload()["n"] for r in batch.records] == [0, 1, 2]
            positions = [r.position for r in batch.records]
            assert positions == sorted(positions)
            await batch.mark_sent(batch.records[:2])
        assert [e.payload()["n"] for e in await pending(family.outbox)] == [2, 3, 4]

    async def test_while_one_batch_is_open_another_claim_gets_nothing(self, family):
        async with family.uow() as uow:
            uow.collect(happened(1))
            await uow.commit()
        async with family.outbox.claim(10) as first:
            async with family.outbox.claim(10) as second:
                assert second.records == []
            assert len(first.records) == 1
        assert len(await pending(family.outbox)) == 1

    async def test_sent_records_are_purged_after_the_retention(self, family):
        async with family.uow() as uow:
            uow.collect(happened(1), happened(2))
            await uow.commit()
        async with family.outbox.claim(1) as batch:
            await batch.mark_sent(batch.records)
        assert await family.outbox.purge_sent(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)) == 0
        future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
        assert await family.outbox.purge_sent(future) == 1
        assert [e.payload()["n"] for e in await pending(family.outbox)] == [2]

    # -- the relay ---------------------------------------------------------------------------------

    async def test_the_relay_publishes_every_committed_event_in_commit_order_once(self, family):
        for n in range(7):
            async with family.uow() as uow:
                uow.collect(happened(n))
                await uow.commit()
        publisher = Publisher()
        relay = OutboxRelay(outbox=family.outbox, publisher=publisher, batch_size=3)
        assert await relay.drain() == 7
        assert await relay.drain() == 0
        assert [e.payload()["n"] for e in publisher.published] == list(range(7))

    async def test_a_relay_killed_mid_batch_loses_nothing(self, family):
        for n in range(6):
            async with family.uow() as uow:
                uow.collect(happened(n))
                await uow.commit()
        seen: list[int] = []

        async def consumer(event: DomainEvent) -> None:
            seen.append(event.payload()["n"])

        doomed = Publisher(hang_after=2)
        doomed.bus.subscribe(consumer)
        task = asyncio.create_task(OutboxRelay(outbox=family.outbox, publisher=doomed, batch_size=4).drain())
        await doomed.hanging.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert seen == [0, 1]
        # A fresh relay (another process, or this one restarted) publishes the batch again, whole.
        survivor = Publisher()
        survivor.bus.subscribe(consumer)
        assert await OutboxRelay(outbox=family.outbox, publisher=survivor, batch_size=4).drain() == 6
        assert [e.payload()["n"] for e in survivor.published] == list(range(6))
        assert seen == [0, 1, 0, 1, 2, 3, 4, 5]  # at least once; consumers deduplicate by event id

    async def test_a_failing_publish_marks_nothing(self, family):
        async with family.uow() as uow:
            uow.collect(happened(1))
            await uow.commit()

        class Down:
            async def publish(self, *events: DomainEvent) -> None:
                raise Unavailable("the stream is down")

        with pytest.raises(Unavailable):
            await OutboxRelay(outbox=family.outbox, publisher=Down()).drain()
        assert [e.payload()["n"] for e in await pending(family.outbox)] == [1]
