"""MeetingRepository contract: every semantic of ports/meetings.py, run against each adapter."""

from __future__ import annotations

import pytest

from domain.meetings.commands import Relation, When
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting, MeetingStatus, Participant
from domain.shared.actor import Actor
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, new_id
from domain.shared.pagination import PageRequest
from ports.meetings import MeetingRepository
from tests.contracts.factories import a_busy_meeting, a_meeting, a_user_id, at

ME_EMAIL = "me@example.com"
OPEN = (MeetingStatus.SCHEDULED, MeetingStatus.LIVE)


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

    async def test_listed_meetings_are_copies_too(self, repo):
        host = a_user_id()
        meeting = a_busy_meeting(host_id=host)
        await repo.add(meeting)
        listed = (await repo.list_for_user(host, None, Relation.ALL, When.ALL, PageRequest())).items[0]
        assert listed == meeting
        listed.attendees.clear()
        assert await repo.get(meeting.id) == meeting

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
        await repo.save(loaded)
        assert loaded.version == 1
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
        assert (await repo.list_for_user(meeting.host_id, None, Relation.ALL, When.ALL, PageRequest())).total == 0

    async def test_deleting_an_unknown_meeting_raises_meeting_not_found(self, repo):
        with pytest.raises(MeetingNotFound):
            await repo.delete(MeetingId(new_id()))

    async def test_a_deleted_id_can_be_added_again(self, repo):
        meeting = a_meeting()
        await repo.add(meeting)
        await repo.delete(meeting.id)
        await repo.add(meeting)
        assert await repo.get(meeting.id) == meeting

    # -- list_for_user -----------------------------------------------------------------------------

    @pytest.fixture
    async def world(self, repo):
        """Meetings in every relation to ``me`` and every status, labelled with the relations that
        the port defines, so that expectations are written out rather than computed by an adapter."""
        me, other = a_user_id(), a_user_id()
        labelled: list[tuple[Meeting, set[str]]] = []
        statuses = list(MeetingStatus)
        for i, status in enumerate(statuses * 2):
            start = at(1000 + 10 * i) if i % 3 else at(1000)  # some share a start time: ties break by id
            kinds: list[tuple[dict, set[str] | None]] = [
                (dict(host_id=me), {"hosted"}),
                (dict(host_id=other, invited_users={me}), {"invited"}),
                (dict(host_id=other, invited_emails={ME_EMAIL}), {"invited_by_email"}),
                (dict(host_id=other, attendees={me}), {"joined"}),
                (dict(host_id=other, co_hosts={me}), {"co_host"}),
                (dict(host_id=me, co_hosts={other}, invited_users={me}, attendees={me}),
                 {"hosted", "invited", "joined"}),
                (dict(host_id=other, kicked={me}, invited_emails={"not-me@example.com"}), None),
                (dict(host_id=other, invited_users={other}, attendees={other}), None),
            ]
            for fields, labels in kinds:
                meeting = a_meeting(status=status, start_time=start, **fields)
                if status is MeetingStatus.LIVE and me in meeting.attendees:
                    meeting.participants = {me: Participant(user_id=me, joined_at=at(1))}
                await repo.add(meeting)
                if labels is not None:
                    labelled.append((meeting, labels))
        return me, labelled

    @staticmethod
    def expected(labelled, relation: Relation, when: When, email: str | None) -> list[Meeting]:
        def related(labels: set[str]) -> bool:
            invited = "invited" in labels or ("invited_by_email" in labels and email == ME_EMAIL)
            return {Relation.HOSTED: "hosted" in labels, Relation.INVITED: invited,
                    Relation.JOINED: "joined" in labels,
                    Relation.ALL: invited or bool(labels & {"hosted", "joined", "co_host"})}[relation]

        hits = [m for m, labels in labelled if related(labels)
                and (when is When.ALL or (m.status in OPEN) == (when is When.UPCOMING))]
        return sorted(hits, key=lambda m: (m.start_time, m.id), reverse=when is not When.UPCOMING)

    @pytest.mark.parametrize("relation", list(Relation))
    @pytest.mark.parametrize("when", list(When))
    async def test_list_for_user_returns_the_related_meetings_in_order(self, repo, world, relation, when):
        me, labelled = world
        want = self.expected(labelled, relation, when, ME_EMAIL)
        page = await repo.list_for_user(me, ME_EMAIL, relation, when, PageRequest(limit=100))
        assert [m.id for m in page.items] == [m.id for m in want]
        assert list(page.items) == want
        assert page.total == len(want)

    @pytest.mark.parametrize("relation", [Relation.ALL, Relation.INVITED])
    async def test_list_for_user_without_an_email_ignores_email_invitations(self, repo, world, relation):
        me, labelled = world
        want = self.expected(labelled, relation, When.ALL, None)
        page = await repo.list_for_user(me, None, relation, When.ALL, PageRequest(limit=100))
        assert [m.id for m in page.items] == [m.id for m in want]

    @pytest.mark.parametrize("when", list(When))
    async def test_list_for_user_pages_through_the_results_and_reports_the_total(self, repo, world, when):
        me, labelled = world
        want = self.expected(labelled, Relation.ALL, when, ME_EMAIL)
        seen = []
        for offset in range(0, len(want) + 3, 3):
            page = await repo.list_for_user(me, ME_EMAIL, Relation.ALL, when, PageRequest(offset=offset, limit=3))
            assert (page.total, page.offset, page.limit) == (len(want), offset, 3)
            seen.extend(m.id for m in page.items)
        assert seen == [m.id for m in want]

    async def test_a_kicked_user_is_not_listed_as_invited_even_when_their_email_still_is(self, repo):
        me, host = a_user_id(), a_user_id()
        await repo.add(a_meeting(host_id=host, kicked={me}, invited_emails={ME_EMAIL}))
        for relation in (Relation.INVITED, Relation.ALL):
            page = await repo.list_for_user(me, ME_EMAIL, relation, When.ALL, PageRequest())
            assert page.total == 0, relation

    async def test_list_for_a_user_related_to_nothing_is_empty(self, repo, world):
        page = await repo.list_for_user(a_user_id(), "stranger@example.com", Relation.ALL, When.ALL, PageRequest())
        assert (page.items, page.total) == ((), 0)
