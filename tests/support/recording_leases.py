"""Two recording processes over one store (the scenarios of the owner's lease), run on memory by
tests/unit/test_recording_leases.py and on PostgreSQL by tests/integration/test_postgres_recording_leases.py.

Each process has its own recorder (its SFU) and RecordingService (its instance id); they share the
store, the blob store and an injected clock, which the scenarios move past the lease instead of sleeping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.crypto.download_links import HmacDownloadLinks
from adapters.memory.blobs import InMemoryBlobStore
from confero_contracts.factories import a_meeting
from domain.meetings import events as me
from domain.meetings.model import MeetingStatus
from domain.recordings.model import Recording, RecordingState
from domain.recordings.service import RecordingService
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, RecordingId, new_id
from tests.support.recording_fakes import FakeProcessor, FakeRoomRecorder, a_file

S = RecordingState
NOW = dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)
LEASE = dt.timedelta(seconds=20)
HEARTBEAT = dt.timedelta(seconds=5)


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, by: dt.timedelta) -> None:
        self.at += by


class TwoProcesses:
    def __init__(self, uow: Any, add_meeting: Callable[[Any], Awaitable[None]]) -> None:
        self.uow = uow
        self.add_meeting = add_meeting
        self.blobs = InMemoryBlobStore()
        self.clock = Clock()
        self.a = self.process("instance-a")
        self.b = self.process("instance-b")

    def process(self, instance: str) -> RecordingService:
        return RecordingService(uow=self.uow, recorder=FakeRoomRecorder(self.blobs),
                                processor=FakeProcessor(self.blobs), blobs=self.blobs,
                                links=HmacDownloadLinks("k" * 40), clock=self.clock, instance=instance, lease=LEASE)

    async def meeting(self) -> tuple[Actor, MeetingId]:
        meeting = a_meeting(host_id=new_id(), status=MeetingStatus.LIVE, started_at=NOW)
        await self.add_meeting(meeting)
        return Actor(meeting.host_id), meeting.id

    async def get(self, recording_id: RecordingId) -> Recording:
        async with self.uow() as uow:
            return await uow.recordings.get(recording_id)


async def a_live_recording_is_left_to_its_owner(w: TwoProcesses) -> None:
    host, meeting = await w.meeting()
    rec = await w.a.start(host, meeting)
    before = await w.get(rec.id)
    assert (before.state, before.owner, before.lease_until) == (S.RECORDING, "instance-a", NOW + LEASE)
    w.b.recorder.recoverable[rec.id] = [a_file(f"{rec.key_prefix}/lost.webm", host.user_id)]
    assert await w.b.recover_unfinished() == []
    for _ in range(12):  # a minute of heartbeats: far past the first lease, B still keeps off
        w.clock.advance(HEARTBEAT)
        assert await w.a.heartbeat() == []
        assert await w.b.recover_unfinished() == []
    after = await w.get(rec.id)
    assert after.state is S.RECORDING and after.version == before.version
    assert after.owner == "instance-a" and after.lease_until == w.clock.now() + LEASE
    assert rec.id in w.a.recorder.running


async def a_crashed_owner_s_recording_is_recovered_after_the_lease(w: TwoProcesses) -> None:
    host, meeting = await w.meeting()
    rec = await w.a.start(host, meeting)
    w.clock.advance(HEARTBEAT)
    await w.a.heartbeat()  # then A crashes: no more heartbeats
    w.b.recorder.recoverable[rec.id] = [a_file(f"{rec.key_prefix}/saved.webm", host.user_id)]
    w.clock.advance(LEASE - dt.timedelta(microseconds=1))
    assert await w.b.recover_unfinished() == []
    assert (await w.get(rec.id)).state is S.RECORDING
    w.clock.advance(dt.timedelta(microseconds=1))
    [done] = await w.b.recover_unfinished()
    assert done.state is S.COMPLETED and done.owner == "instance-b"
    assert [f.key for f in done.files if f.user_id is not None] == [f"{rec.key_prefix}/saved.webm"]
    # A was not dead after all (a long pause): its next heartbeat finds the lease gone and stops taping.
    assert await w.a.heartbeat() == []
    assert w.a.recorder.running == {}
    assert (await w.get(rec.id)).state is S.COMPLETED


async def a_restarted_owner_recovers_its_own_recording_at_once(w: TwoProcesses) -> None:
    host, meeting = await w.meeting()
    rec = await w.a.start(host, meeting)
    again = w.process("instance-a")  # the same APP_INSTANCE_ID, a new life: its recorder runs nothing
    again.recorder.recoverable[rec.id] = [a_file(f"{rec.key_prefix}/saved.webm", host.user_id)]
    assert await w.b.recover_unfinished() == []
    [done] = await again.recover_unfinished()
    assert done.state is S.COMPLETED


async def a_stop_handled_elsewhere_is_finished_by_the_owner_s_heartbeat(w: TwoProcesses) -> None:
    host, meeting = await w.meeting()
    rec = await w.a.start(host, meeting)
    stopped = await w.b.stop(host, rec.id)
    assert stopped.state is S.STOPPING and w.b.recorder.stops == 0 and rec.id in w.a.recorder.running
    assert await w.b.recover_unfinished() == []
    w.clock.advance(HEARTBEAT)
    [processing] = await w.a.heartbeat()
    assert processing.state is S.PROCESSING and w.a.recorder.running == {}
    await w.a.drain()
    done = await w.get(rec.id)
    assert done.state is S.COMPLETED and len(done.files) == 3  # A's two participants and the meeting file
    assert await w.a.heartbeat() == []


async def a_meeting_s_end_handled_elsewhere_is_finished_by_the_owner_s_heartbeat(w: TwoProcesses) -> None:
    host, meeting = await w.meeting()
    rec = await w.a.start(host, meeting)
    await w.b.on_event(me.MeetingEnded(occurred_at=NOW, meeting_id=meeting, by=host.user_id))
    assert (await w.get(rec.id)).state is S.STOPPING and w.b.recorder.stops == 0
    [processing] = await w.a.heartbeat()
    assert processing.state is S.PROCESSING
    await w.a.drain()
    assert (await w.get(rec.id)).state is S.COMPLETED


async def a_stop_of_a_dead_owner_s_recording_recovers_it(w: TwoProcesses) -> None:
    host, meeting = await w.meeting()
    rec = await w.a.start(host, meeting)
    w.b.recorder.recoverable[rec.id] = [a_file(f"{rec.key_prefix}/saved.webm", host.user_id)]
    w.clock.advance(LEASE)
    done = await w.b.stop(host, rec.id)
    assert done.state is S.COMPLETED and done.owner == "instance-b"


async def heartbeats_racing_a_stop_never_make_it_fail(w: TwoProcesses) -> None:
    host, meeting = await w.meeting()
    rec = await w.a.start(host, meeting)
    barrier = asyncio.Barrier(2)

    async def beat() -> None:
        await barrier.wait()
        for _ in range(20):
            await w.a.heartbeat()

    async def stop() -> Recording:
        await barrier.wait()
        return await w.b.stop(host, rec.id)

    _, stopped = await asyncio.gather(beat(), stop())
    assert stopped.state is S.STOPPING
    await w.a.heartbeat()
    await w.a.drain()
    assert (await w.get(rec.id)).state is S.COMPLETED


async def the_owner_s_heartbeat_racing_its_own_stop_stops_the_recorder_once(w: TwoProcesses) -> None:
    host, meeting = await w.meeting()
    rec = await w.a.start(host, meeting)
    barrier = asyncio.Barrier(2)

    async def beat() -> None:
        await barrier.wait()
        for _ in range(10):
            await w.a.heartbeat()

    async def stop() -> Recording:
        await barrier.wait()
        return await w.a.stop(host, rec.id)

    _, stopped = await asyncio.gather(beat(), stop())
    assert stopped.state is S.PROCESSING
    assert w.a.recorder.stops == 1
    await w.a.drain()
    assert (await w.get(rec.id)).state is S.COMPLETED


SCENARIOS = (the_owner_s_heartbeat_racing_its_own_stop_stops_the_recorder_once, a_live_recording_is_left_to_its_owner, a_crashed_owner_s_recording_is_recovered_after_the_lease,
             a_restarted_owner_recovers_its_own_recording_at_once,
             a_stop_handled_elsewhere_is_finished_by_the_owner_s_heartbeat,
             a_meeting_s_end_handled_elsewhere_is_finished_by_the_owner_s_heartbeat,
             a_stop_of_a_dead_owner_s_recording_recovers_it, heartbeats_racing_a_stop_never_make_it_fail)
