"""Class 4 of issue 9, for meetings: what a host, a kicked user and a stranger may learn or be given."""

from __future__ import annotations

import pytest

from domain.meetings import commands as mc
from domain.meetings import errors as e
from domain.meetings.model import MeetingRole, MeetingSettings
from domain.shared.actor import Actor
from domain.shared.pagination import PageRequest
from tests.unit.conftest import register
from tests.unit.web_support import API, web, web_factory  # noqa: F401  (fixtures)

A = mc.HostAction
EVERYTHING = (mc.Relation.ALL, mc.When.ALL, PageRequest(limit=100))


@pytest.fixture
async def people(user_service):
    return {name: Actor((await register(user_service, name)).id) for name in ("host", "alice", "bob")}


async def unverify(domain_users, actor: Actor) -> None:
    user = await domain_users.get(actor.user_id)
    user.email_verified = False
    await domain_users.save(user)


# -- invitations by email ----------------------------------------------------------------------------

async def test_the_host_sees_an_email_invitation_as_the_email_never_as_the_account_behind_it(web):  # noqa: F811
    host, alice = await web.user(), await web.user()
    mid = (await web.meeting(host))["id"]
    invited = await web.ok("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"email": alice.email})
    assert invited["invited_emails"] == [alice.email]
    assert invited["invited_user_ids"] == []
    assert alice.id not in str(await web.get_meeting(host, mid))


async def test_an_email_invitation_admits_the_verified_owner_of_the_address(meeting_service, people):
    meeting = await meeting_service.schedule(people["host"], mc.ScheduleMeeting(
        title="Board", password="board-pass", settings=MeetingSettings(invite_only=True)))
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="alice@example.com"))
    joined = await meeting_service.join(people["alice"], mc.JoinMeeting(meeting_id=meeting.id))
    assert people["alice"].user_id in joined.participants


async def test_an_unverified_address_is_granted_nothing_by_an_email_invitation(meeting_service, people,
                                                                               domain_users):
    meeting = await meeting_service.schedule(people["host"], mc.ScheduleMeeting(
        title="Board", password="board-pass", settings=MeetingSettings(invite_only=True)))
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="alice@example.com"))
    await unverify(domain_users, people["alice"])
    alice = people["alice"]
    with pytest.raises(e.MeetingHidden):
        await meeting_service.get(alice, meeting.id)
    with pytest.raises(e.InvitationRequired):
        await meeting_service.join(alice, mc.JoinMeeting(meeting_id=meeting.id))
    assert await meeting_service.role_of(alice, meeting) is None
    assert (await meeting_service.list_mine(alice, *EVERYTHING)).items == ()


async def test_an_unverified_address_does_not_skip_the_password_of_an_open_meeting(meeting_service, people,
                                                                                    domain_users):
    meeting = await meeting_service.schedule(people["host"], mc.ScheduleMeeting(title="Club", password="club-pass"))
    await meeting_service.invite(people["host"], mc.Invite(meeting_id=meeting.id, email="alice@example.com"))
    await unverify(domain_users, people["alice"])
    with pytest.raises(e.PasswordRequired):
        await meeting_service.join(people["alice"], mc.JoinMeeting(meeting_id=meeting.id))


# -- a kicked user --------------------------------------------------------------------------------------

async def test_a_kicked_user_no_longer_reads_an_invite_only_meeting_nor_its_later_edits(meeting_service, people):
    host, alice = people["host"], people["alice"]
    meeting = await meeting_service.schedule(host, mc.ScheduleMeeting(
        title="Board", settings=MeetingSettings(invite_only=True)))
    await meeting_service.invite(host, mc.Invite(meeting_id=meeting.id, user_id=alice.user_id))
    await meeting_service.join(alice, mc.JoinMeeting(meeting_id=meeting.id))
    await meeting_service.host_action(host, meeting.id, A.KICK, alice.user_id)
    await meeting_service.update(host, mc.UpdateMeeting(meeting_id=meeting.id, title="Board: the secret agenda"))

    with pytest.raises(e.MeetingHidden):
        await meeting_service.get(alice, meeting.id)
    for relation in mc.Relation:
        listed = await meeting_service.list_mine(alice, relation, mc.When.ALL, PageRequest(limit=100))
        assert listed.items == (), relation
    assert await meeting_service.role_of(alice, await meeting_service.get(host, meeting.id)) is None


async def test_a_kicked_user_invited_again_by_email_still_reads_nothing(meeting_service, people):
    host, alice = people["host"], people["alice"]
    meeting = await meeting_service.schedule(host, mc.ScheduleMeeting(
        title="Board", settings=MeetingSettings(invite_only=True)))
    await meeting_service.invite(host, mc.Invite(meeting_id=meeting.id, user_id=alice.user_id))
    await meeting_service.join(alice, mc.JoinMeeting(meeting_id=meeting.id))
    await meeting_service.host_action(host, meeting.id, A.KICK, alice.user_id)
    await meeting_service.invite(host, mc.Invite(meeting_id=meeting.id, email="alice@example.com"))
    with pytest.raises(e.MeetingHidden):
        await meeting_service.get(alice, meeting.id)


# -- handing the meeting over ---------------------------------------------------------------------------

async def test_the_host_cannot_be_handed_to_a_stranger_or_to_someone_who_left(meeting_service, people):
    host, alice, bob = people["host"], people["alice"], people["bob"]
    meeting = await meeting_service.schedule(host, mc.ScheduleMeeting(title="Standup"))
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.host_action(host, meeting.id, A.TRANSFER_HOST, bob.user_id)
    await meeting_service.host_action(host, meeting.id, A.PROMOTE, bob.user_id)  # a co-host is not present yet
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.host_action(host, meeting.id, A.TRANSFER_HOST, bob.user_id)
    await meeting_service.join(alice, mc.JoinMeeting(meeting_id=meeting.id))
    await meeting_service.leave(alice, meeting.id)
    with pytest.raises(e.InvalidMeetingAction):
        await meeting_service.host_action(host, meeting.id, A.TRANSFER_HOST, alice.user_id)
    assert (await meeting_service.get(host, meeting.id)).host_id == host.user_id

    await meeting_service.join(alice, mc.JoinMeeting(meeting_id=meeting.id))
    handed = await meeting_service.host_action(host, meeting.id, A.TRANSFER_HOST, alice.user_id)
    assert handed.host_id == alice.user_id and handed.role_of(host.user_id) is MeetingRole.CO_HOST


async def test_over_http_a_transfer_to_a_stranger_is_refused_with_409(web):  # noqa: F811
    host, stranger = await web.user(), await web.user()
    mid = (await web.meeting(host))["id"]
    refused = await web.call("POST", f"{API}/meetings/{mid}/transfer-host", who=host, json={"user_id": stranger.id})
    assert (refused.status, refused.code) == (409, "invalid_meeting_action")
    assert (await web.get_meeting(host, mid))["host_id"] == host.id
