"""RecordingRepository contract (ports/recordings.py), plain and through each family's unit of work.

Fixtures: ``repo`` (the repository) and ``units`` (a UnitOfWorkFactory over the same storage).
"""

from __future__ import annotations

import asyncio

import pytest

from confero_contracts.factories import a_recorded_file, a_recording, at
from domain.recordings.errors import RecordingConflict, RecordingNotFound
from domain.recordings.model import RecordingState
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, new_id
from ports.recordings import RecordingRepository

S = RecordingState


class RecordingRepositoryContract:
    @pytest.fixture
    async def repo(self) -> RecordingRepository:
        raise NotImplementedError

    @pytest.fixture
    async def units(self):
        raise NotImplementedError

    async def test_a_recording_with_every_field_set_comes_back_equal(self, repo):
        rec = a_recording(state=S.COMPLETED, files=(a_recorded_file(), a_recorded_file(user_id=None)),
                          started_at=at(1.000001), stopped_at=at(2), finished_at=at(3), stopped_by=new_id(),
                          failure_reason=None, progress=1.0, version=3, owner="instance-a", lease_until=at(4.000001))
        await repo.add(rec)
        assert await repo.get(rec.id) == rec

    async def test_a_failed_recording_keeps_its_reason(self, repo):
        rec = a_recording(state=S.FAILED, failure_reason="the recorder — ünïcode — died", finished_at=at(9))
        await repo.add(rec)
        assert await repo.get(rec.id) == rec

    async def test_unknown_ids_raise_recording_not_found(self, repo):
        with pytest.raises(RecordingNotFound):
            await repo.get(new_id())
        with pytest.raises(RecordingNotFound):
            await repo.save(a_recording())
        with pytest.raises(RecordingNotFound):
            await repo.delete(new_id())

    async def test_adding_a_known_id_raises_already_exists(self, repo):
        rec = a_recording(state=S.COMPLETED, finished_at=at(1))
        await repo.add(rec)
        with pytest.raises(AlreadyExists):
            await repo.add(a_recording(id=rec.id, state=S.FAILED, failure_reason="x", finished_at=at(1)))

    async def test_a_second_active_recording_of_a_meeting_is_refused(self, repo):
        first = a_recording()
        await repo.add(first)
        with pytest.raises(RecordingConflict):
            await repo.add(a_recording(meeting_id=first.meeting_id, state=S.RECORDING))
        assert await repo.list_for_meeting(first.meeting_id) == [first]

    async def test_finished_recordings_do_not_block_a_new_one(self, repo):
        meeting = MeetingId(new_id())
        await repo.add(a_recording(meeting_id=meeting, state=S.PROCESSING, created_at=at(1)))
        await repo.add(a_recording(meeting_id=meeting, state=S.COMPLETED, finished_at=at(3), created_at=at(2)))
        new = a_recording(meeting_id=meeting, created_at=at(4))
        await repo.add(new)
        assert await repo.active_for_meeting(meeting) == new

    async def test_save_bumps_the_version_and_refuses_a_stale_one(self, repo):
        rec = a_recording()
        await repo.add(rec)
        first, second = await repo.get(rec.id), await repo.get(rec.id)
        first.recorder_started(now=at(5))
        await repo.save(first)
        assert first.version == 1 and await repo.get(rec.id) == first
        second.fail("lost", now=at(5))
        with pytest.raises(ConcurrentModification):
            await repo.save(second)

    async def test_of_two_racing_saves_of_one_version_exactly_one_wins(self, repo):
        rec = a_recording()
        await repo.add(rec)
        a, b = await repo.get(rec.id), await repo.get(rec.id)
        a.recorder_started(now=at(1))
        b.fail("x", now=at(1))
        outcomes = await asyncio.gather(repo.save(a), repo.save(b), return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["ConcurrentModification", "NoneType"]

    async def test_lists_for_a_meeting_newest_first_and_unfinished_oldest_first(self, repo):
        meeting = MeetingId(new_id())
        old = a_recording(meeting_id=meeting, state=S.COMPLETED, finished_at=at(2), created_at=at(1))
        mid = a_recording(meeting_id=meeting, state=S.PROCESSING, stopped_at=at(3), created_at=at(2))
        new = a_recording(meeting_id=meeting, state=S.RECORDING, started_at=at(3), created_at=at(3))
        elsewhere = a_recording(state=S.STOPPING, created_at=at(0))
        for r in (old, new, mid, elsewhere):
            await repo.add(r)
        assert await repo.list_for_meeting(meeting) == [new, mid, old]
        assert await repo.list_for_meeting(MeetingId(new_id())) == []
        unfinished = [r for r in await repo.list_unfinished() if r.id in {old.id, mid.id, new.id, elsewhere.id}]
        assert unfinished == [elsewhere, mid, new]
        assert await repo.active_for_meeting(meeting) == new

    async def test_deleted_recordings_are_gone(self, repo):
        rec = a_recording(state=S.FAILED, failure_reason="x", finished_at=at(1))
        await repo.add(rec)
        await repo.delete(rec.id)
        with pytest.raises(RecordingNotFound):
            await repo.get(rec.id)
        assert await repo.list_for_meeting(rec.meeting_id) == []

    # -- through the unit of work ------------------------------------------------------------------

    async def test_a_unit_commits_the_recording_with_its_state(self, repo, units):
        rec = a_recording()
        async with units() as uow:
            await uow.recordings.add(rec)
            rec.recorder_started(now=at(1))
            await uow.recordings.save(rec)
            assert (await uow.recordings.get(rec.id)).state is S.RECORDING
            await uow.commit()
        assert (await repo.get(rec.id)).state is S.RECORDING

    async def test_a_unit_left_without_commit_keeps_nothing(self, repo, units):
        rec = a_recording()
        async with units() as uow:
            await uow.recordings.add(rec)
        with pytest.raises(RecordingNotFound):
            await repo.get(rec.id)

    async def test_a_unit_adding_a_second_active_recording_fails_at_commit_and_keeps_nothing(self, repo, units):
        first = a_recording()
        await repo.add(first)
        second = a_recording(meeting_id=first.meeting_id)
        with pytest.raises(RecordingConflict):
            async with units() as uow:
                await uow.recordings.add(second)
                await uow.commit()
        with pytest.raises(RecordingNotFound):
            await repo.get(second.id)

    async def test_of_units_racing_to_start_a_meeting_s_recording_exactly_one_wins(self, repo, units):
        meeting = MeetingId(new_id())
        barrier = asyncio.Barrier(5)

        async def start() -> None:
            async with units() as uow:
                await uow.recordings.add(a_recording(meeting_id=meeting))
                await barrier.wait()
                await uow.commit()

        outcomes = await asyncio.gather(*(start() for _ in range(5)), return_exceptions=True)
        assert sum(o is None for o in outcomes) == 1
        assert all(isinstance(o, RecordingConflict) for o in outcomes if o is not None)
        assert len(await repo.list_for_meeting(meeting)) == 1

    async def test_a_unit_deletes_a_recording(self, repo, units):
        rec = a_recording(state=S.COMPLETED, finished_at=at(1))
        await repo.add(rec)
        async with units() as uow:
            await uow.recordings.delete(rec.id)
            with pytest.raises(RecordingNotFound):
                await uow.recordings.get(rec.id)
            await uow.commit()
        assert await repo.list_for_meeting(rec.meeting_id) == []

    # -- the owner's lease -------------------------------------------------------------------------

    async def test_save_stores_neither_owner_nor_lease(self, repo):
        rec = a_recording(owner="a", lease_until=at(10))
        await repo.add(rec)
        loaded = await repo.get(rec.id)
        assert await repo.renew_lease(rec.id, "a", at(20)) is S.STARTING
        loaded.recorder_started(now=at(1))
        loaded.owner, loaded.lease_until = "b", at(5)
        await repo.save(loaded)
        stored = await repo.get(rec.id)
        assert (stored.state, stored.owner, stored.lease_until, stored.version) == (S.RECORDING, "a", at(20), 1)

    async def test_renewing_keeps_the_version_so_a_concurrent_stop_still_saves(self, repo):
        rec = a_recording(state=S.RECORDING, started_at=at(1), owner="a", lease_until=at(10))
        await repo.add(rec)
        loaded = await repo.get(rec.id)
        assert await repo.renew_lease(rec.id, "a", at(30)) is S.RECORDING
        loaded.stop(by=None, now=at(2))
        await repo.save(loaded)
        assert await repo.renew_lease(rec.id, "a", at(35)) is S.STOPPING
        stored = await repo.get(rec.id)
        assert (stored.state, stored.lease_until) == (S.STOPPING, at(35))

    async def test_only_the_owner_renews_and_only_an_unfinished_recording(self, repo):
        rec = a_recording(owner="a", lease_until=at(10))
        ended = a_recording(state=S.FAILED, failure_reason="x", finished_at=at(1), owner="a", lease_until=at(10))
        for r in (rec, ended):
            await repo.add(r)
        assert await repo.renew_lease(rec.id, "b", at(30)) is None
        assert await repo.renew_lease(ended.id, "a", at(30)) is None
        assert await repo.renew_lease(new_id(), "a", at(30)) is None
        assert (await repo.get(rec.id)).lease_until == at(10)
        assert (await repo.get(ended.id)).lease_until == at(10)

    async def test_a_lease_is_claimed_only_when_free(self, repo):
        live = a_recording(state=S.RECORDING, started_at=at(1), owner="a", lease_until=at(10))
        await repo.add(live)
        assert not await repo.claim_lease(live.id, "b", at(30), now=at(9.999))
        assert (await repo.get(live.id)) == live
        assert await repo.claim_lease(live.id, "a", at(30), now=at(9))  # its owner, restarted
        assert await repo.claim_lease(live.id, "b", at(40), now=at(30))  # the lease ran out
        stored = await repo.get(live.id)
        assert (stored.owner, stored.lease_until, stored.version) == ("b", at(40), live.version + 2)
        assert await repo.renew_lease(live.id, "a", at(50)) is None
        unowned = a_recording(state=S.STOPPING, stopped_at=at(1))
        ended = a_recording(state=S.COMPLETED, finished_at=at(1), progress=1.0)
        for r in (unowned, ended):
            await repo.add(r)
        assert await repo.claim_lease(unowned.id, "b", at(30), now=at(1))
        assert not await repo.claim_lease(ended.id, "b", at(30), now=at(1))
        with pytest.raises(RecordingNotFound):
            await repo.claim_lease(new_id(), "b", at(30), now=at(1))

    async def test_a_claim_makes_copies_loaded_before_it_stale(self, repo):
        rec = a_recording(state=S.RECORDING, started_at=at(1), owner="a", lease_until=at(10))
        await repo.add(rec)
        loaded = await repo.get(rec.id)
        assert await repo.claim_lease(rec.id, "b", at(40), now=at(20))
        loaded.stop(by=None, now=at(20))
        with pytest.raises(ConcurrentModification):
            await repo.save(loaded)

    async def test_of_a_racing_claim_and_renewal_of_a_lapsed_lease_exactly_one_wins(self, repo):
        for _ in range(5):
            rec = a_recording(state=S.RECORDING, started_at=at(1), owner="a", lease_until=at(10))
            await repo.add(rec)
            claimed, renewed = await asyncio.gather(repo.claim_lease(rec.id, "b", at(40), now=at(20)),
                                                    repo.renew_lease(rec.id, "a", at(30)))
            assert claimed != (renewed is not None)
            stored = await repo.get(rec.id)
            assert (stored.owner, stored.lease_until) == (("b", at(40)) if claimed else ("a", at(30)))
