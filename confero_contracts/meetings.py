"""MeetingRepository contract: every semantic of ports/meetings.py, run against each adapter."""

from __future__ import annotations

import pytest

from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import MeetingStatus
from domain.shared.actor import Actor
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, new_id
from ports.meetings import MeetingRepository
from confero_contracts.factories import a_busy_meeting, a_meeting, a_user_id, at



class MeetingRepositoryContract:
    @pytest.fixture
    async def repo(self) -> MeetingRepository:
        raise NotImplementedError

    # -- round trips and copies --------------------------------------------------------------------

    async def test_a_meeting_with_every_field_set_comes_back_equal(self, repo):
        meeting = a_busy_meeting(version=4)
        await repo.add(meeting)
        assert await repo.get(meeting.id) == meeting

    async def test_a_meeting_with_only_defaults_comes_back_equal(self, repo):
        meeting = a_meeting()
        await repo.add(meeting)
        got = await repo.get(meeting.id)
        assert got == meeting
        assert got.password_hash is None and got.started_at is None and got.participants == {}

    async def test_an_ended_meeting_comes_back_equal(self, repo):
        meeting = a_busy_meeting(status=MeetingStatus.ENDED, participants={}, ended_at=at(200.5))
        await repo.add(meeting)
        assert await repo.get(meeting.id) == meeting

    async def test_changing_the_added_object_does_not_change_the_stored_meeting(self, repo):
        meeting = a_busy_meeting()
        await repo.add(meeting)
        meeting.co_hosts.add(a_user_id())
        meeting.participants.clear()
        meeting.invited_emails.add("late@example.com")
        got = await repo.get(meeting.id)
        assert got.co_hosts != meeting.co_hosts and got.participants and "late@example.com" not in got.invited_emails

    async def test_changing_a_loaded_copy_does_not_change_the_stored_meeting(self, repo):
        meeting = a_busy_meeting()
        await repo.add(meeting)
        copy = await repo.get(meeting.id)
        copy.attendees.clear()
        copy.kicked.add(a_user_id())
        copy.title = "changed"
        assert await repo.get(meeting.id) == meeting

    async def test_changing_a_saved_object_afterwards_does_not_change_the_stored_meeting(self, repo):
        meeting = a_busy_meeting()
        await repo.add(meeting)
        loaded = await repo.get(meeting.id)
        await repo.save(loaded)
        stored = await repo.get(meeting.id)
        loaded.invited_users.clear()
        assert await repo.get(meeting.id) == stored

    # -- not found and duplicates ------------------------------------------------------------------

    async def test_getting_an_unknown_id_raises_meeting_not_found(self, repo):
        with pytest.raises(MeetingNotFound):
            await repo.get(MeetingId(new_id()))

    async def test_adding_an_id_that_is_already_stored_raises_already_exists(self, repo):
        meeting = a_meeting()
        await repo.add(meeting)
        with pytest.raises(AlreadyExists):
            await repo.add(a_meeting(id=meeting.id))
        assert await repo.get(meeting.id) == meeting

    async def test_saving_an_unknown_meeting_raises_meeting_not_found(self, repo):
        with pytest.raises(MeetingNotFound):
            await repo.save(a_meeting())

    # -- optimistic concurrency --------------------------------------------------------------------

    async def test_saving_persists_the_changes_and_increments_the_version(self, repo):
        host, guest = a_user_id(), a_user_id()
        meeting = a_meeting(host_id=host)
        await repo.add(meeting)
        loaded = await repo.get(meeting.id)
        loaded.invite(Actor(host), user_id=guest, now=at(10))
        loaded.join(guest, email=None, password_ok=None, now=at(11))
        loaded.lock(Actor(host), now=at(12))
        loaded.turn_captions_on(Actor(host), now=at(13))
        await repo.save(loaded)
        assert loaded.version == 1 and loaded.captions_on
        assert await repo.get(meeting.id) == loaded
        await repo.save(loaded)
        assert (await repo.get(meeting.id)).version == 2

    async def test_sets_can_shrink_back_to_empty(self, repo):
        meeting = a_busy_meeting()
        await repo.add(meeting)
        loaded = await repo.get(meeting.id)
        for name in ("co_hosts", "invited_users", "invited_emails", "kicked", "attendees", "participants"):
            getattr(loaded, name).clear()
        loaded.password_hash = None
        loaded.captions_on = False
        await repo.save(loaded)
        assert await repo.get(meeting.id) == loaded

    async def test_of_two_saves_of_one_loaded_version_only_the_first_wins(self, repo):
        meeting = a_meeting()
        await repo.add(meeting)
        first, second = await repo.get(meeting.id), await repo.get(meeting.id)
        first.title, second.title = "first", "second"
        await repo.save(first)
        with pytest.raises(ConcurrentModification):
            await repo.save(second)
        assert second.version == 0
        assert (await repo.get(meeting.id)).title == "first"

    async def test_saving_a_version_from_the_future_raises_concurrent_modification(self, repo):
        meeting = a_meeting()
        await repo.add(meeting)
        meeting.version = 9
        with pytest.raises(ConcurrentModification):
            await repo.save(meeting)

    # -- delete ------------------------------------------------------------------------------------

    async def test_a_deleted_meeting_is_gone(self, repo):
        meeting, other = a_meeting(), a_meeting()
        await repo.add(meeting)
        await repo.add(other)
        await repo.delete(meeting.id)
        with pytest.raises(MeetingNotFound):
            await repo.get(meeting.id)
        with pytest.raises(MeetingNotFound):
            await repo.save(meeting)
        assert await repo.get(other.id) == other

    async def test_deleting_an_unknown_meeting_raises_meeting_not_found(self, repo):
        with pytest.raises(MeetingNotFound):
            await repo.delete(MeetingId(new_id()))

    async def test_a_deleted_id_can_be_added_again(self, repo):
        meeting = a_meeting()
        await repo.add(meeting)
        await repo.delete(meeting.id)
        await repo.add(meeting)
        assert await repo.get(meeting.id) == meeting
