"""MeetingQueries contract (ports/meeting_queries.py): "meetings of mine", run against each adapter.

A subclass provides ``repo`` (a MeetingRepository to store meetings with) and ``queries`` reading them.
"""

from __future__ import annotations

import pytest

from domain.meetings.commands import Relation, When
from domain.meetings.model import Meeting, MeetingStatus, Participant
from domain.shared.pagination import PageRequest
from ports.meeting_queries import MeetingQueries
from ports.meetings import MeetingRepository
from confero_contracts.factories import a_busy_meeting, a_meeting, a_user_id, at

ME_EMAIL = "me@example.com"
OPEN = (MeetingStatus.SCHEDULED, MeetingStatus.LIVE)


class MeetingQueriesContract:
    @pytest.fixture
    async def repo(self) -> MeetingRepository:
        raise NotImplementedError

    @pytest.fixture
    async def queries(self, repo) -> MeetingQueries:
        raise NotImplementedError

    async def test_listed_meetings_are_copies_too(self, repo, queries):
        host = a_user_id()
        meeting = a_busy_meeting(host_id=host)
        await repo.add(meeting)
        listed = (await queries.list_for_user(host, None, Relation.ALL, When.ALL, PageRequest())).items[0]
        assert listed == meeting
        listed.attendees.clear()
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
    async def test_list_for_user_returns_the_related_meetings_in_order(self, queries, world, relation, when):
        me, labelled = world
        want = self.expected(labelled, relation, when, ME_EMAIL)
        page = await queries.list_for_user(me, ME_EMAIL, relation, when, PageRequest(limit=100))
        assert [m.id for m in page.items] == [m.id for m in want]
        assert list(page.items) == want
        assert page.total == len(want)
        assert await queries.count_for_user(me, ME_EMAIL, relation, when) == len(want)

    @pytest.mark.parametrize("relation", [Relation.ALL, Relation.INVITED])
    async def test_list_for_user_without_an_email_ignores_email_invitations(self, queries, world, relation):
        me, labelled = world
        want = self.expected(labelled, relation, When.ALL, None)
        page = await queries.list_for_user(me, None, relation, When.ALL, PageRequest(limit=100))
        assert [m.id for m in page.items] == [m.id for m in want]

    @pytest.mark.parametrize("when", list(When))
    async def test_list_for_user_pages_through_the_results_and_reports_the_total(self, queries, world, when):
        me, labelled = world
        want = self.expected(labelled, Relation.ALL, when, ME_EMAIL)
        seen = []
        for offset in range(0, len(want) + 3, 3):
            page = await queries.list_for_user(me, ME_EMAIL, Relation.ALL, when, PageRequest(offset=offset, limit=3))
            assert (page.total, page.offset, page.limit) == (len(want), offset, 3)
            seen.extend(m.id for m in page.items)
        assert seen == [m.id for m in want]

    async def test_a_kicked_user_is_not_listed_as_invited_even_when_their_email_still_is(self, repo, queries):
        me, host = a_user_id(), a_user_id()
        await repo.add(a_meeting(host_id=host, kicked={me}, invited_emails={ME_EMAIL}))
        for relation in (Relation.INVITED, Relation.ALL):
            page = await queries.list_for_user(me, ME_EMAIL, relation, When.ALL, PageRequest())
            assert page.total == 0, relation

    async def test_a_deleted_meeting_is_not_listed(self, repo, queries):
        meeting = a_meeting()
        await repo.add(meeting)
        await repo.delete(meeting.id)
        assert (await queries.list_for_user(meeting.host_id, None, Relation.ALL, When.ALL, PageRequest())).total == 0

    async def test_list_for_a_user_related_to_nothing_is_empty(self, queries, world):
        page = await queries.list_for_user(a_user_id(), "stranger@example.com", Relation.ALL, When.ALL, PageRequest())
        assert (page.items, page.total) == ((), 0)

    async def test_a_kicked_user_is_not_listed_as_having_joined(self, repo, queries):
        me, host = a_user_id(), a_user_id()
        await repo.add(a_meeting(host_id=host, kicked={me}, attendees={me}))
        for relation in (Relation.JOINED, Relation.ALL):
            page = await queries.list_for_user(me, None, relation, When.ALL, PageRequest())
            assert page.total == 0, relation
