from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.memory.combiner import InProcessCombiner
from domain.meetings import commands as mc
from domain.meetings import errors as e
from domain.meetings.model import MeetingSettings, MeetingStatus
from domain.meetings.service import MeetingService
from domain.shared.actor import Actor
from domain.shared.errors import ConcurrentModification
from domain.shared.pagination import PageRequest
from domain.users.commands import RegisterUser
from domain.users.errors import InvalidUserData, UserNotFound
from tests.unit.conftest import GOOD_PASSWORD, START, register, verify

HOUR = dt.timedelta(hours=1)
NOBODY = "00000000-0000-0000-0000-000000000000"
A = mc.HostAction
M = mc.MeetingAction


@pytest.fixture
async def people(user_service):
    """Registered users by name, as meeting actors; ``root`` administers the system."""
    out = {}
    for name in ("host", "alice", "bob", "carol"):
        out[name] = Actor((await register(user_service, name)).id)
    out["root"] = Actor((await register(user_service, "root", admin=True)).id, is_admin=True)
    return out


def names(bus) -> list[str]:
    return [event.name for event in bus.events]


async def schedule(service: MeetingService, actor: Actor, **kw) -> object:
    kw.setdefault("title", "Weekly sync")
    return await service.schedule(actor, mc.ScheduleMeeting(**kw))


async def join(service, actor, meeting, password=None):
    return await service.join(actor, mc.JoinMeeting(meeting_id=meeting.id, password=password))


# -- scheduling ------------------------------------------------------------------------------------


async def test_a_scheduled_meeting_has_its_creator_as_host_and_sensible_defaults(meeting_service, people,
                                                                                 domain_meetings, domain_outbox):
    meeting = await schedule(meeting_service, people["host"], title="  Weekly \n sync  ")
    assert meeting.title == "Weekly sync"
    assert meeting.host_id == people["host"].user_id
    assert (meeting.capacity, meeting.duration_minutes, meeting.start_time) == (100, 60, START)
    assert meeting.status is MeetingStatus.SCHEDULED and meeting.password_hash is None
    assert await domain_meetings.get(meeting.id) == meeting
    assert names(domain_outbox)[-1] == "meeting.created"


@pytest.mark.parametrize(("fields", "field"), [
    ({"title": ""}, "title"), ({"title": "   "}, "title"), ({"title": "x" * 201}, "title"),
    ({"description": "x" * 2001}, "description"),
    ({"capacity": 1}, "capacity"), ({"capacity": 1001}, "capacity"),
    ({"duration_minutes": 0}, "duration_minutes"), ({"duration_minutes": 24 * 60 + 1}, "duration_minutes"),
    ({"password": "abc"}, "password"), ({"password": "x" * 65}, "password"),
])
async def test_scheduling_refuses_invalid_data_naming_the_field(meeting_service, people, domain_outbox, fields, field):
    published = len(domain_outbox.events)
    with pytest.raises(e.InvalidMeetingData) as caught:
        await schedule(meeting_service, people["host"], **({"title": "Sync"} | fields))
    assert caught.value.details == {"field": field}
    assert len(domain_outbox.events) == published


async def test_scheduling_accepts_the_limits(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"], title="x" * 200, capacity=1000,
                             duration_minutes=24 * 60, password="abcd", start_time=START + HOUR)
    assert (meeting.capacity, meeting.duration_minutes, meeting.start_time) == (1000, 1440, START + HOUR)
    await schedule(meeting_service, people["host"], capacity=2, duration_minutes=1, password="x" * 64)


async def test_a_meeting_password_is_stored_hashed_never_in_clear(meeting_service, people, domain_meetings,
                                                                  domain_hasher):
    meeting = await schedule(meeting_service, people["host"], password="open sesame")
    stored = await domain_meetings.get(meeting.id)
    assert stored.password_hash is not None and "open sesame" not in stored.password_hash
    assert await domain_hasher.verify(stored.password_hash, "open sesame")
    assert "open sesame" not in repr(stored)


# -- visibility ------------------------------------------------------------------------------------


async def test_an_open_meeting_is_visible_to_anyone_signed_in(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    assert (await meeting_service.get(people["bob"], meeting.id)).id == meeting.id


async def test_an_invite_only_meeting_is_hidden_from_people_it_does_not_concern(meeting_service, people,
                                                                               user_service):
    meeting = await schedule(meeting_service, people["host"], settings=MeetingSettings(invite_only=True))
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, user_id=people["alice"].user_id))
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="Later@Example.com"))
    await meeting_service.host_action(people["host"], meeting.id, A.PROMOTE, people["bob"].user_id)
    later = Actor((await verify(user_service, await user_service.register(RegisterUser(
        username="later", email="later@example.com", password=GOOD_PASSWORD)))).id)
    for who in (people["host"], people["alice"], people["bob"], people["root"], later):
        assert (await meeting_service.get(who, meeting.id)).id == meeting.id
    with pytest.raises(e.MeetingHidden):
        await meeting_service.get(people["carol"], meeting.id)


async def test_an_unknown_meeting_is_not_found(meeting_service, people):
    with pytest.raises(e.MeetingNotFound):
        await meeting_service.get(people["host"], NOBODY)
    with pytest.raises(e.MeetingNotFound):
        await meeting_service.join(people["host"], mc.JoinMeeting(meeting_id=NOBODY))


# -- joining ---------------------------------------------------------------------------------------


async def test_the_first_join_starts_the_meeting_and_a_second_join_changes_nothing(meeting_service, people,
                                                                                   domain_outbox):
    meeting = await schedule(meeting_service, people["host"])
    joined = await join(meeting_service, people["alice"], meeting)
    assert joined.status is MeetingStatus.LIVE and joined.started_at == START
    assert list(joined.participants) == [people["alice"].user_id]
    assert names(domain_outbox)[-2:] == ["meeting.started", "meeting.participant_joined"]
    published = len(domain_outbox.events)
    again = await join(meeting_service, people["alice"], meeting)
    assert again.version == joined.version
    assert len(domain_outbox.events) == published


async def test_a_full_meeting_refuses_the_next_person(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"], capacity=2)
    await join(meeting_service, people["alice"], meeting)
    await join(meeting_service, people["bob"], meeting)
    with pytest.raises(e.MeetingFull) as caught:
        await join(meeting_service, people["host"], meeting)
    assert caught.value.details == {"capacity": 2}


async def test_a_password_is_required_must_be_right_and_then_admits(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"], password="open sesame")
    with pytest.raises(e.PasswordRequired):
        await join(meeting_service, people["alice"], meeting)
    with pytest.raises(e.WrongMeetingPassword):
        await join(meeting_service, people["alice"], meeting, password="close sesame")
    joined = await join(meeting_service, people["alice"], meeting, password="open sesame")
    assert people["alice"].user_id in joined.participants


async def test_the_host_bypasses_the_password_and_the_lock(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"], password="open sesame")
    await meeting_service.meeting_action(people["host"], meeting.id, M.LOCK)
    joined = await join(meeting_service, people["host"], meeting)
    assert people["host"].user_id in joined.participants


async def test_a_co_host_bypasses_the_password_the_lock_and_invite_only(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"], password="open sesame",
                             settings=MeetingSettings(invite_only=True))
    await meeting_service.host_action(people["host"], meeting.id, A.PROMOTE, people["bob"].user_id)
    await meeting_service.meeting_action(people["host"], meeting.id, M.LOCK)
    await join(meeting_service, people["bob"], meeting)


async def test_a_locked_meeting_refuses_everyone_else_even_the_invited(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, user_id=people["alice"].user_id))
    await meeting_service.meeting_action(people["host"], meeting.id, M.LOCK)
    for who in ("alice", "bob"):
        with pytest.raises(e.MeetingLocked):
            await join(meeting_service, people[who], meeting)
    await meeting_service.meeting_action(people["host"], meeting.id, M.UNLOCK)
    await join(meeting_service, people["bob"], meeting)


async def test_an_invite_only_meeting_admits_only_the_invited(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"], settings=MeetingSettings(invite_only=True))
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, user_id=people["alice"].user_id))
    with pytest.raises(e.InvitationRequired):
        await join(meeting_service, people["bob"], meeting)
    await join(meeting_service, people["alice"], meeting)


async def test_an_invitation_by_id_or_email_bypasses_the_password(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"], password="open sesame")
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, user_id=people["alice"].user_id))
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="BOB@example.com"))
    await join(meeting_service, people["alice"], meeting)
    await join(meeting_service, people["bob"], meeting, password="a wrong one is ignored")
    with pytest.raises(e.PasswordRequired):
        await join(meeting_service, people["carol"], meeting)


async def test_an_ended_or_cancelled_meeting_admits_nobody(meeting_service, people):
    ended = await schedule(meeting_service, people["host"])
    await join(meeting_service, people["host"], ended)
    await meeting_service.meeting_action(people["host"], ended.id, M.END)
    cancelled = await schedule(meeting_service, people["host"])
    await meeting_service.meeting_action(people["host"], cancelled.id, M.CANCEL)
    for who in ("host", "alice"):
        with pytest.raises(e.MeetingEnded):
            await join(meeting_service, people[who], ended)
        with pytest.raises(e.MeetingCancelled):
            await join(meeting_service, people[who], cancelled)


async def test_a_kicked_user_cannot_rejoin_even_when_invited_again(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    await join(meeting_service, people["alice"], meeting)
    kicked = await meeting_service.host_action(people["host"], meeting.id, A.KICK, people["alice"].user_id)
    assert people["alice"].user_id not in kicked.participants
    with pytest.raises(e.KickedFromMeeting):
        await join(meeting_service, people["alice"], meeting)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, user_id=people["alice"].user_id))
    # An email invitation is accepted like any other (refusing it would tell the host whose address it
    # is), and still admits nobody who was kicked.
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="alice@example.com"))
    with pytest.raises(e.KickedFromMeeting):
        await join(meeting_service, people["alice"], meeting)


async def test_joining_retries_when_another_save_wins_the_race(meeting_service, people, domain_meetings, domain_outbox):
    meeting = await schedule(meeting_service, people["host"], password="open sesame")
    losing = FirstSavesLose(meeting_service.uow, losses=1)
    meeting_service.uow = losing
    published = len(domain_outbox.events)
    joined = await join(meeting_service, people["alice"], meeting, password="open sesame")
    assert losing.lost == 1 and losing.saved == 1
    stored = await domain_meetings.get(meeting.id)
    assert people["alice"].user_id in stored.participants and stored.version == joined.version == 1
    assert names(domain_outbox)[published:] == ["meeting.started", "meeting.participant_joined"]


async def test_joining_gives_up_with_concurrent_modification_when_every_save_loses(meeting_service, people,
                                                                                  domain_meetings, domain_outbox):
    meeting = await schedule(meeting_service, people["host"])
    losing = FirstSavesLose(meeting_service.uow, losses=1000)
    meeting_service.uow = losing
    published = len(domain_outbox.events)
    with pytest.raises(ConcurrentModification):
        await join(meeting_service, people["alice"], meeting)
    assert losing.lost == 8
    assert len(domain_outbox.events) == published
    assert (await domain_meetings.get(meeting.id)).participants == {}


class FirstSavesLose:
    """A unit-of-work factory whose units' first ``losses`` meeting saves (counted across units) find
    the meeting changed underneath."""

    def __init__(self, inner, losses: int) -> None:
        self.inner, self.losses, self.lost, self.saved = inner, losses, 0, 0

    def __call__(self):
        unit = self.inner()
        real = unit.meetings.save

        async def save(meeting) -> None:
            if self.lost < self.losses:
                self.lost += 1
                raise ConcurrentModification("the meeting was changed by someone else")
            await real(meeting)
            self.saved += 1

        unit.meetings.save = save
        return unit


# -- leaving and who is in -------------------------------------------------------------------------


async def test_leaving_removes_the_participant_and_leaving_twice_is_refused(meeting_service, people, domain_outbox):
    meeting = await schedule(meeting_service, people["host"])
    await join(meeting_service, people["alice"], meeting)
    left = await meeting_service.leave(people["alice"], meeting.id)
    assert left.participants == {} and people["alice"].user_id in left.attendees
    assert names(domain_outbox)[-1] == "meeting.participant_left"
    with pytest.raises(e.NotAParticipant):
        await meeting_service.leave(people["alice"], meeting.id)


async def test_participants_are_visible_to_people_in_it_hosts_and_admins_in_join_order(meeting_service, people,
                                                                                      domain_clock):
    meeting = await schedule(meeting_service, people["host"])
    for who in ("bob", "alice"):
        domain_clock.advance(dt.timedelta(seconds=1))
        await join(meeting_service, people[who], meeting)
    for who in ("host", "alice", "root"):
        _, listed = await meeting_service.participants(people[who], meeting.id)
        assert [p.user_id for p in listed] == [people["bob"].user_id, people["alice"].user_id]
    with pytest.raises(e.ParticipantsHidden):
        await meeting_service.participants(people["carol"], meeting.id)


# -- host actions ----------------------------------------------------------------------------------


async def test_inviting_an_unknown_user_id_is_refused(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    with pytest.raises(UserNotFound):
        await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, user_id=NOBODY))


async def test_inviting_a_known_email_keeps_it_an_email_and_never_reveals_the_account(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    invited = await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email=" Alice@Example.com"))
    assert invited.invited_users == set() and invited.invited_emails == {"alice@example.com"}


async def test_an_unknown_email_is_kept_and_honoured_once_someone_registers_with_it(meeting_service, people,
                                                                                   user_service):
    meeting = await schedule(meeting_service, people["host"], settings=MeetingSettings(invite_only=True),
                             password="open sesame")
    invited = await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="New@Example.com"))
    assert invited.invited_emails == {"new@example.com"}
    newcomer = await verify(user_service, await user_service.register(RegisterUser(
        username="newcomer", email="NEW@example.com", password=GOOD_PASSWORD)))
    joined = await join(meeting_service, Actor(newcomer.id), meeting)
    assert newcomer.id in joined.participants


async def test_an_invitation_needs_a_valid_target_and_a_privileged_inviter(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    with pytest.raises(InvalidUserData):
        await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="not-an-email"))
    with pytest.raises(e.InvalidMeetingData):
        await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id))
    with pytest.raises(e.NotMeetingHost):
        await meeting_service.invite(people["alice"], mc.Invite(meeting_id=meeting.id, user_id=people["bob"].user_id))
    await meeting_service.host_action(people["host"], meeting.id, A.PROMOTE, people["alice"].user_id)
    invited = await meeting_service.invite(people["alice"], mc.Invite(meeting_id=meeting.id,
                                                                      user_id=people["bob"].user_id))
    assert people["bob"].user_id in invited.invited_users


async def test_co_hosts_kick_participants_but_not_the_host_nor_other_co_hosts(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    for who in ("alice", "bob", "carol"):
        await join(meeting_service, people[who], meeting)
    for who in ("alice", "bob"):
        await meeting_service.host_action(people["host"], meeting.id, A.PROMOTE, people[who].user_id)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.host_action(people["alice"], meeting.id, A.KICK, people["host"].user_id)
    with pytest.raises(e.NotMeetingHost):
        await meeting_service.host_action(people["alice"], meeting.id, A.KICK, people["bob"].user_id)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.host_action(people["alice"], meeting.id, A.KICK, people["alice"].user_id)
    after = await meeting_service.host_action(people["alice"], meeting.id, A.KICK, people["carol"].user_id)
    assert people["carol"].user_id in after.kicked and people["carol"].user_id not in after.participants
    after = await meeting_service.host_action(people["host"], meeting.id, A.KICK, people["bob"].user_id)
    assert people["bob"].user_id not in after.co_hosts | set(after.participants)


async def test_a_participant_cannot_use_host_powers(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    await join(meeting_service, people["alice"], meeting)
    await join(meeting_service, people["bob"], meeting)
    for action in A:
        with pytest.raises(e.NotMeetingHost):
            await meeting_service.host_action(people["alice"], meeting.id, action, people["bob"].user_id)
    for action in M:
        with pytest.raises(e.NotMeetingHost):
            await meeting_service.meeting_action(people["alice"], meeting.id, action)


async def test_only_the_host_promotes_and_demotes_co_hosts(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    promoted = await meeting_service.host_action(people["host"], meeting.id, A.PROMOTE, people["alice"].user_id)
    assert promoted.co_hosts == {people["alice"].user_id}
    with pytest.raises(e.NotMeetingHost):
        await meeting_service.host_action(people["alice"], meeting.id, A.PROMOTE, people["bob"].user_id)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.host_action(people["host"], meeting.id, A.PROMOTE, people["host"].user_id)
    with pytest.raises(UserNotFound):
        await meeting_service.host_action(people["host"], meeting.id, A.PROMOTE, NOBODY)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.host_action(people["host"], meeting.id, A.DEMOTE, people["bob"].user_id)
    demoted = await meeting_service.host_action(people["host"], meeting.id, A.DEMOTE, people["alice"].user_id)
    assert demoted.co_hosts == set()


async def test_transferring_the_host_keeps_the_old_host_as_co_host(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    await meeting_service.host_action(people["host"], meeting.id, A.PROMOTE, people["alice"].user_id)
    await join(meeting_service, people["alice"], meeting)
    after = await meeting_service.host_action(people["host"], meeting.id, A.TRANSFER_HOST, people["alice"].user_id)
    assert after.host_id == people["alice"].user_id and after.co_hosts == {people["host"].user_id}
    with pytest.raises(e.NotMeetingHost):
        await meeting_service.host_action(people["host"], meeting.id, A.TRANSFER_HOST, people["bob"].user_id)
    with pytest.raises(UserNotFound):
        await meeting_service.host_action(people["alice"], meeting.id, A.TRANSFER_HOST, NOBODY)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.host_action(people["alice"], meeting.id, A.TRANSFER_HOST, people["alice"].user_id)


async def test_a_kicked_user_cannot_be_promoted_or_made_host(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    await meeting_service.host_action(people["host"], meeting.id, A.KICK, people["alice"].user_id)
    for action in (A.PROMOTE, A.TRANSFER_HOST):
        with pytest.raises(e.InvalidMeetingAction):
            await meeting_service.host_action(people["host"], meeting.id, action, people["alice"].user_id)


async def test_an_administrator_has_the_hosts_powers(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"])
    await join(meeting_service, people["alice"], meeting)
    await meeting_service.host_action(people["root"], meeting.id, A.KICK, people["alice"].user_id)
    await meeting_service.meeting_action(people["root"], meeting.id, M.LOCK)
    ended = await meeting_service.meeting_action(people["root"], meeting.id, M.END)
    assert ended.status is MeetingStatus.ENDED


async def test_ending_removes_everyone_and_refuses_further_changes(meeting_service, people, domain_outbox):
    meeting = await schedule(meeting_service, people["host"])
    for who in ("host", "alice", "bob"):
        await join(meeting_service, people[who], meeting)
    ended = await meeting_service.meeting_action(people["host"], meeting.id, M.END)
    assert ended.participants == {} and ended.status is MeetingStatus.ENDED and ended.ended_at == START
    assert len(ended.attendees) == 3
    assert names(domain_outbox)[-1] == "meeting.ended"
    for action in (M.LOCK, M.UNLOCK, M.END):
        with pytest.raises(e.MeetingEnded):
            await meeting_service.meeting_action(people["host"], meeting.id, action)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.meeting_action(people["host"], meeting.id, M.CANCEL)


async def test_only_a_meeting_that_has_not_started_can_be_cancelled(meeting_service, people, domain_outbox):
    live = await schedule(meeting_service, people["host"])
    await join(meeting_service, people["alice"], live)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.meeting_action(people["host"], live.id, M.CANCEL)
    scheduled = await schedule(meeting_service, people["host"])
    with pytest.raises(e.NotMeetingHost):
        await meeting_service.meeting_action(people["alice"], scheduled.id, M.CANCEL)
    cancelled = await meeting_service.meeting_action(people["host"], scheduled.id, M.CANCEL)
    assert cancelled.status is MeetingStatus.CANCELLED
    assert names(domain_outbox)[-1] == "meeting.cancelled"
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.meeting_action(people["host"], scheduled.id, M.CANCEL)


async def test_every_change_publishes_its_event_in_order(meeting_service, people, domain_outbox):
    meeting = await schedule(meeting_service, people["host"])
    mid, host = meeting.id, people["host"]
    await meeting_service.invite(host, mc.Invite(meeting_id=mid, user_id=people["alice"].user_id))
    await meeting_service.invite(host, mc.Invite(meeting_id=mid, user_id=people["alice"].user_id))  # no change
    await join(meeting_service, people["alice"], meeting)
    await join(meeting_service, people["bob"], meeting)
    await meeting_service.host_action(host, mid, A.PROMOTE, people["alice"].user_id)
    await meeting_service.host_action(host, mid, A.DEMOTE, people["alice"].user_id)
    await meeting_service.meeting_action(host, mid, M.LOCK)
    await meeting_service.meeting_action(host, mid, M.LOCK)  # no change
    await meeting_service.meeting_action(host, mid, M.UNLOCK)
    await meeting_service.host_action(host, mid, A.KICK, people["bob"].user_id)
    await meeting_service.leave(people["alice"], mid)
    await meeting_service.update(host, mc.UpdateMeeting(meeting_id=mid, capacity=10))
    await join(meeting_service, people["alice"], meeting)
    await meeting_service.host_action(host, mid, A.TRANSFER_HOST, people["alice"].user_id)
    await meeting_service.meeting_action(people["alice"], mid, M.END)
    mine = [event for event in domain_outbox.events if getattr(event, "meeting_id", None) == mid]
    assert [event.name for event in mine] == [
        "meeting.created", "meeting.user_invited", "meeting.started", "meeting.participant_joined",
        "meeting.participant_joined", "meeting.cohost_promoted", "meeting.cohost_demoted", "meeting.locked",
        "meeting.unlocked", "meeting.participant_kicked", "meeting.participant_left", "meeting.updated",
        "meeting.participant_joined", "meeting.host_transferred", "meeting.ended"]
    assert (await meeting_service.meetings.get(mid)).version == len(mine) - 2  # created and started ride along


# -- listing ---------------------------------------------------------------------------------------


@pytest.fixture
async def alices_world(meeting_service, people):
    """Meetings related to alice in every way, with distinct start times (named by relation and time)."""
    s, p, day = meeting_service, people, dt.timedelta(days=1)
    alice = p["alice"]
    w = {}
    w["hosted_up"] = await schedule(s, alice, start_time=START + day)
    w["hosted_past"] = await schedule(s, alice, start_time=START - 2 * day)
    await join(s, alice, w["hosted_past"])
    await s.meeting_action(alice, w["hosted_past"].id, M.END)
    w["invited_up"] = await schedule(s, p["bob"], start_time=START + 2 * day)
    await s.invite(p["bob"], mc.Invite(meeting_id=w["invited_up"].id, user_id=alice.user_id))
    w["invited_past"] = await schedule(s, p["bob"], start_time=START - 3 * day)
    await s.invite(p["bob"], mc.Invite(meeting_id=w["invited_past"].id, email="alice@example.com"))
    await s.meeting_action(p["bob"], w["invited_past"].id, M.CANCEL)
    w["joined_live"] = await schedule(s, p["carol"], start_time=START - HOUR)
    await join(s, alice, w["joined_live"])
    w["cohost_up"] = await schedule(s, p["carol"], start_time=START + 3 * day)
    await s.host_action(p["carol"], w["cohost_up"].id, A.PROMOTE, alice.user_id)
    await schedule(s, p["carol"], start_time=START + 4 * day)  # nothing to do with alice
    return w


LISTINGS = {
    (mc.Relation.HOSTED, mc.When.ALL): ["hosted_up", "hosted_past"],
    (mc.Relation.HOSTED, mc.When.UPCOMING): ["hosted_up"],
    (mc.Relation.HOSTED, mc.When.PAST): ["hosted_past"],
    (mc.Relation.INVITED, mc.When.ALL): ["invited_up", "invited_past"],
    (mc.Relation.INVITED, mc.When.UPCOMING): ["invited_up"],
    (mc.Relation.INVITED, mc.When.PAST): ["invited_past"],
    (mc.Relation.JOINED, mc.When.ALL): ["joined_live", "hosted_past"],
    (mc.Relation.JOINED, mc.When.UPCOMING): ["joined_live"],
    (mc.Relation.JOINED, mc.When.PAST): ["hosted_past"],
    (mc.Relation.ALL, mc.When.ALL): ["cohost_up", "invited_up", "hosted_up", "joined_live", "hosted_past",
                                     "invited_past"],
    (mc.Relation.ALL, mc.When.UPCOMING): ["joined_live", "hosted_up", "invited_up", "cohost_up"],
    (mc.Relation.ALL, mc.When.PAST): ["hosted_past", "invited_past"],
}


@pytest.mark.parametrize(("relation", "when"), list(LISTINGS))
async def test_list_mine_returns_each_relation_and_time_in_order_page_by_page(meeting_service, people,
                                                                              alices_world, relation, when):
    expected = [alices_world[name].id for name in LISTINGS[(relation, when)]]
    seen, offset = [], 0
    while True:
        page = await meeting_service.list_mine(people["alice"], relation, when, PageRequest(offset=offset, limit=2))
        assert page.total == len(expected) and (page.offset, page.limit) == (offset, 2)
        if not page.items:
            break
        seen += [m.id for m in page.items]
        offset += 2
    assert seen == expected


async def test_list_mine_shows_nothing_to_a_stranger(meeting_service, people, alices_world):
    page = await meeting_service.list_mine(people["root"], mc.Relation.ALL, mc.When.ALL, PageRequest())
    assert page.items == () and page.total == 0


async def test_a_kicked_user_is_no_longer_invited_even_by_an_earlier_email_invitation(meeting_service, people,
                                                                                       user_service):
    """Meeting docstring: a kicked user is never a participant, a co-host or invited."""
    meeting = await schedule(meeting_service, people["host"], settings=MeetingSettings(invite_only=True))
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="dave@example.com"))
    dave = Actor((await verify(user_service, await user_service.register(RegisterUser(
        username="dave", email="dave@example.com", password=GOOD_PASSWORD)))).id)
    await meeting_service.host_action(people["host"], meeting.id, A.KICK, dave.user_id)
    with pytest.raises(e.KickedFromMeeting):
        await join(meeting_service, dave, meeting)
    page = await meeting_service.list_mine(dave, mc.Relation.INVITED, mc.When.ALL, PageRequest())
    assert page.total == 0
    with pytest.raises(e.MeetingHidden):
        await meeting_service.get(dave, meeting.id)


# -- combining -------------------------------------------------------------------------------------


async def test_joins_arriving_while_one_commits_are_applied_together_in_one_unit(meeting_service, people,
                                                                                 domain_outbox):
    meeting = await schedule(meeting_service, people["host"], capacity=3)
    units, commits, first_load, go = meeting_service.uow, [], asyncio.Event(), asyncio.Event()

    def counting_units():
        """Units whose first load waits until the others have queued up; commits are counted."""
        unit = units()
        get, commit = unit.meetings.get, unit.commit

        async def held_get(meeting_id):
            if not first_load.is_set():
                first_load.set()
                await go.wait()
            return await get(meeting_id)

        async def counted_commit():
            await commit()
            commits.append(1)

        unit.meetings.get, unit.commit = held_get, counted_commit
        return unit

    meeting_service.uow, meeting_service.combiner = counting_units, InProcessCombiner()
    first = asyncio.create_task(join(meeting_service, people["host"], meeting))
    await first_load.wait()
    rest = [asyncio.create_task(join(meeting_service, people[name], meeting))
            for name in ("alice", "bob", "carol", "root")]
    await asyncio.sleep(0)
    go.set()
    outcomes = await asyncio.gather(first, *rest, return_exceptions=True)
    assert [type(o).__name__ for o in outcomes] == ["Meeting", "Meeting", "Meeting", "MeetingFull", "MeetingFull"]
    assert len(commits) == 2  # the host's join alone, then alice's and bob's together
    stored = await meeting_service.meetings.get(meeting.id)
    assert set(stored.participants) == {people[n].user_id for n in ("host", "alice", "bob")}
    joined = [e.user_id for e in domain_outbox.events if e.name == "meeting.participant_joined"]
    assert joined == [people[n].user_id for n in ("host", "alice", "bob")]


async def test_an_invitation_by_username_invites_that_user_and_never_matches_an_email(meeting_service, people):
    meeting = await schedule(meeting_service, people["host"], settings=MeetingSettings(invite_only=True))
    invited = await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, username=" Bob "))
    assert people["bob"].user_id in invited.invited_users
    await join(meeting_service, people["bob"], meeting)
    for unknown in ("nobody", "alice@example.com"):
        with pytest.raises(UserNotFound):
            await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, username=unknown))
    assert people["alice"].user_id not in (await meeting_service.get(people["host"], meeting.id)).invited_users
