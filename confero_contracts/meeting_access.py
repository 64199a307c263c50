"""MeetingAccess contract (ports/rooms.py): the meeting domain as signaling sees it, in process or
over gRPC.  Errors are checked by exact class (a remote adapter must raise the very class the meeting
domain raised, with its details), not by a base class.

The fixture ``harness`` is a MeetingAccessHarness: the adapter under test (``access``) and ways to
arrange meetings that go straight to the meeting domain, so only ``access`` is on trial.
"""

from __future__ import annotations

from typing import Protocol

import pytest

from domain.meetings import errors as e
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId, new_id
from ports.rooms import MeetingAccess


class MeetingAccessHarness(Protocol):
    access: MeetingAccess

    async def user(self, display_name: str) -> Actor: ...
    async def admin(self) -> Actor: ...
    async def meeting(self, host: Actor, *, password: str | None = None, capacity: int = 100,
                      mute_on_join: bool = False) -> MeetingId: ...
    async def kick(self, host: Actor, meeting_id: MeetingId, user: Actor) -> None: ...
    async def promote(self, host: Actor, meeting_id: MeetingId, user: Actor) -> None: ...
    async def end(self, host: Actor, meeting_id: MeetingId) -> None: ...
    async def participants(self, meeting_id: MeetingId) -> set[UserId]: ...


async def raises_exactly(error: type[Exception], call) -> Exception:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as caught:
        await call
    assert type(caught.value) is error, f"{type(caught.value).__name__} instead of {error.__name__}"
    return caught.value


class MeetingAccessContract:
    @pytest.fixture
    async def harness(self) -> MeetingAccessHarness:
        raise NotImplementedError

    async def test_the_host_is_admitted_as_host_with_the_meetings_roles(self, harness):
        host = await harness.user("Hannah Hill")
        meeting = await harness.meeting(host, mute_on_join=True)
        got = await harness.access.admit(host, meeting, None)
        assert (got.role, got.display_name, got.mute_on_join) == ("host", "Hannah Hill", True)
        assert dict(got.roles) == {host.user_id: "host"}
        assert host.user_id in await harness.participants(meeting)

    async def test_a_participant_is_admitted_once_however_often_it_asks(self, harness):
        host, guest = await harness.user("Hanna"), await harness.user("Gästin Zoë 🎥")
        meeting = await harness.meeting(host)
        first = await harness.access.admit(guest, meeting, None)
        again = await harness.access.admit(guest, meeting, None)
        assert first == again and first.role == "participant" and first.display_name == "Gästin Zoë 🎥"
        assert first.mute_on_join is False
        assert await harness.participants(meeting) == {guest.user_id}

    async def test_a_co_host_is_admitted_as_co_host_and_may_manage(self, harness):
        host, helper = await harness.user("Hanna"), await harness.user("Hugo")
        meeting = await harness.meeting(host)
        await harness.access.admit(helper, meeting, None)
        await harness.promote(host, meeting, helper)
        got = await harness.access.admit(helper, meeting, None)
        assert got.role == "co_host" and dict(got.roles) == {host.user_id: "host", helper.user_id: "co_host"}
        await harness.access.require_manager(helper, meeting)

    async def test_unknown_meetings_are_not_found(self, harness):
        someone = await harness.user("Someone")
        nowhere = MeetingId(new_id())
        err = await raises_exactly(e.MeetingNotFound, harness.access.admit(someone, nowhere, None))
        assert err.message
        await raises_exactly(e.MeetingNotFound, harness.access.require_manager(someone, nowhere))
        await harness.access.depart(someone, nowhere)  # nothing to leave: no error

    async def test_passwords_are_required_and_checked(self, harness):
        host, guest = await harness.user("Hanna"), await harness.user("Guest")
        meeting = await harness.meeting(host, password="open sesame")
        await raises_exactly(e.PasswordRequired, harness.access.admit(guest, meeting, None))
        await raises_exactly(e.WrongMeetingPassword, harness.access.admit(guest, meeting, "open barley"))
        assert (await harness.access.admit(guest, meeting, "open sesame")).role == "participant"

    async def test_a_kicked_user_stays_out(self, harness):
        host, guest = await harness.user("Hanna"), await harness.user("Guest")
        meeting = await harness.meeting(host)
        await harness.access.admit(guest, meeting, None)
        await harness.kick(host, meeting, guest)
        await raises_exactly(e.KickedFromMeeting, harness.access.admit(guest, meeting, None))

    async def test_a_full_meeting_says_its_capacity(self, harness):
        host, one, two = await harness.user("Hanna"), await harness.user("One"), await harness.user("Two")
        meeting = await harness.meeting(host, capacity=2)
        await harness.access.admit(host, meeting, None)
        await harness.access.admit(one, meeting, None)
        err = await raises_exactly(e.MeetingFull, harness.access.admit(two, meeting, None))
        assert err.details == {"capacity": 2}

    async def test_an_ended_meeting_admits_nobody_and_departing_it_is_quiet(self, harness):
        host, guest = await harness.user("Hanna"), await harness.user("Guest")
        meeting = await harness.meeting(host)
        await harness.access.admit(guest, meeting, None)
        await harness.end(host, meeting)
        await raises_exactly(e.MeetingEnded, harness.access.admit(guest, meeting, None))
        await harness.access.depart(guest, meeting)

    async def test_depart_leaves_and_a_second_depart_does_nothing(self, harness):
        host, guest = await harness.user("Hanna"), await harness.user("Guest")
        meeting = await harness.meeting(host)
        await harness.access.admit(guest, meeting, None)
        await harness.access.depart(guest, meeting)
        assert guest.user_id not in await harness.participants(meeting)
        await harness.access.depart(guest, meeting)
        await harness.access.depart(await harness.user("Never joined"), meeting)

    async def test_only_hosts_co_hosts_and_admins_manage(self, harness):
        host, guest, admin = await harness.user("Hanna"), await harness.user("Guest"), await harness.admin()
        meeting = await harness.meeting(host)
        await harness.access.admit(guest, meeting, None)
        await harness.access.require_manager(host, meeting)
        await harness.access.require_manager(admin, meeting)
        await raises_exactly(e.NotMeetingHost, harness.access.require_manager(guest, meeting))
