"""Per-user caps: open meetings one user hosts, and invitations per meeting (issue 9, class 2).

Both answer 422, not 429: waiting does not lift a cap (there is no honest Retry-After), ending or
cancelling a meeting does; 429 would invite clients and proxies to retry the same request forever."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory.locks import InProcessKeyedLocks
from adapters.memory.meeting_queries import InMemoryMeetingQueries
from domain.meetings import commands as mc
from domain.meetings import errors as e
from domain.meetings.rules import MeetingLimits
from domain.shared.actor import Actor
from domain.shared.pagination import PageRequest
from tests.unit.conftest import register
from tests.unit.web_support import API, web_factory  # noqa: F401  (fixtures)

M = mc.MeetingAction


@pytest.fixture
async def host(user_service) -> Actor:
    return Actor((await register(user_service, "host")).id)


async def schedule(service, actor: Actor, title: str = "Sync"):
    return await service.schedule(actor, mc.ScheduleMeeting(title=title))


async def test_a_user_hosts_at_most_the_cap_of_open_meetings_and_closed_ones_free_a_place(meeting_service, host):
    meeting_service.limits = MeetingLimits(open_meetings_per_host=3)
    first, second, _ = [await schedule(meeting_service, host, f"M{i}") for i in range(3)]
    with pytest.raises(e.OpenMeetingsLimitReached) as refused:
        await schedule(meeting_service, host)
    assert refused.value.details == {"limit": 3}
    await meeting_service.meeting_action(host, first.id, M.CANCEL)
    await meeting_service.join(host, mc.JoinMeeting(meeting_id=second.id))
    await meeting_service.meeting_action(host, second.id, M.END)
    await schedule(meeting_service, host)
    await schedule(meeting_service, host)
    with pytest.raises(e.OpenMeetingsLimitReached):
        await schedule(meeting_service, host)


async def test_the_cap_is_per_host(meeting_service, host, user_service):
    meeting_service.limits = MeetingLimits(open_meetings_per_host=1)
    other = Actor((await register(user_service, "other")).id)
    await schedule(meeting_service, host)
    await schedule(meeting_service, other)


async def test_parallel_schedules_held_at_a_barrier_never_exceed_the_cap(meeting_service, host, domain_meetings):
    meeting_service.limits = MeetingLimits(open_meetings_per_host=3)
    meeting_service.locks = InProcessKeyedLocks()
    barrier = asyncio.Barrier(20)

    async def one(i: int) -> object:
        await barrier.wait()
        try:
            return await schedule(meeting_service, host, f"M{i}")
        except e.OpenMeetingsLimitReached as err:
            return err

    outcomes = await asyncio.gather(*(one(i) for i in range(20)))
    assert sum(not isinstance(o, e.OpenMeetingsLimitReached) for o in outcomes) == 3
    hosted = await InMemoryMeetingQueries(domain_meetings).list_for_user(host.user_id, None, mc.Relation.HOSTED, mc.When.ALL, PageRequest())
    assert hosted.total == 3


async def test_a_meeting_takes_at_most_the_cap_of_invitations_by_id_and_email_together(
        meeting_service, host, user_service):
    meeting_service.limits = MeetingLimits(invitations_per_meeting=3)
    alice = (await register(user_service, "alice")).id
    meeting = await schedule(meeting_service, host)
    invite = lambda **kw: meeting_service.invite(host, mc.Invite(meeting_id=meeting.id, **kw))  # noqa: E731
    await invite(user_id=alice)
    await invite(email="one@example.com")
    await invite(email="two@example.com")
    with pytest.raises(e.InvitationsLimitReached) as refused:
        await invite(email="three@example.com")
    assert refused.value.details == {"limit": 3}
    await invite(user_id=alice)  # repeating an invitation is no change, so never refused
    await invite(email="two@example.com")
    await invite(user_id=host.user_id)  # nor is inviting the host, which is no invitation
    assert len((await meeting_service.get(host, meeting.id)).invited_emails) == 2


async def test_over_http_both_caps_answer_422_with_the_limit(web_factory):  # noqa: F811
    web = await web_factory(APP_MAX_OPEN_MEETINGS_PER_USER="1", APP_MAX_INVITATIONS_PER_MEETING="1")
    host = await web.user()
    mid = (await web.meeting(host))["id"]
    second = await web.call("POST", f"{API}/meetings", who=host, json={"title": "Another"})
    assert (second.status, second.code) == (422, "open_meetings_limit_reached")
    assert second.body["error"]["details"] == {"limit": 1}
    await web.ok("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"email": "a@example.com"})
    more = await web.call("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"email": "b@example.com"})
    assert (more.status, more.code) == (422, "invitations_limit_reached")
    assert more.body["error"]["details"] == {"limit": 1}
