"""The notification service on memory adapters: who hears about what, on which channels, when."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from confero_contracts.factories import a_meeting, a_user
from domain.meetings import events as me
from domain.notifications.errors import InvalidPreferences, InvalidUnsubscribeToken
from domain.notifications.model import Channel, Kind, Preferences, QuietHours
from domain.shared.actor import Actor
from domain.shared.pagination import PageRequest
from domain.users import events as ue
from tests.unit.notification_support import BASE, NOW, Rig, a_rig


@pytest.fixture
def rig() -> Rig:
    return a_rig()


async def a_world(rig: Rig, start: dt.datetime = NOW + dt.timedelta(hours=2)):
    host, guest = a_user(), a_user()
    for u in (host, guest):
        await rig.users.add(u)
    meeting = a_meeting(host_id=host.id, start_time=start, invited_users={guest.id})
    await rig.meetings.add(meeting)
    return host, guest, meeting


def invited(meeting, **kw) -> me.UserInvited:
    return me.UserInvited(occurred_at=NOW, meeting_id=meeting.id, by=meeting.host_id, **kw)


async def test_an_invited_user_gets_an_email_with_the_meetings_link_and_an_in_app_notification(rig):
    host, guest, meeting = await a_world(rig)
    await rig.service.on_event(invited(meeting, user_id=guest.id))
    await rig.deliver_all()
    (mail,) = rig.email.sent
    assert mail.address == guest.email and mail.kind is Kind.MEETING_INVITATION
    assert f"{BASE}/meetings/{meeting.id}" in mail.text and f'href="{BASE}/meetings/{meeting.id}"' in mail.html
    assert mail.unsubscribe_url and mail.unsubscribe_url.startswith(f"{BASE}/api/v1/notifications/unsubscribe?token=")
    inbox = await rig.service.inbox(Actor(guest.id), PageRequest())
    assert inbox.unread == 1 and inbox.page.items[0].link == f"/meetings/{meeting.id}"
    assert [j.address for j in rig.push.sent] == [None] and rig.sms.sent == []


async def test_an_address_without_an_account_gets_an_email_with_a_sign_up_link(rig):
    _, _, meeting = await a_world(rig)
    await rig.service.on_event(invited(meeting, email="newbie@example.org"))
    await rig.deliver_all()
    (mail,) = rig.email.sent
    link = mail.link
    assert mail.address == "newbie@example.org" and link is not None and link.startswith(f"{BASE}/signup?")
    assert parse_qs(urlsplit(link).query) == {"email": ["newbie@example.org"], "meeting": [meeting.id]}
    assert "do not have an account" in mail.text and mail.unsubscribe_url is None
    assert rig.push.sent == []


async def test_an_address_that_has_an_account_is_invited_as_that_user(rig):
    _, guest, meeting = await a_world(rig)
    await rig.service.on_event(invited(meeting, email=guest.email))
    await rig.deliver_all()
    (mail,) = rig.email.sent
    assert mail.link == f"{BASE}/meetings/{meeting.id}" and mail.user_id == guest.id
    assert (await rig.service.inbox(Actor(guest.id), PageRequest())).unread == 1


async def test_an_address_claimed_by_an_unverified_account_is_invited_as_an_address(rig):
    _, _, meeting = await a_world(rig)
    squatter = a_user(email="victim@example.org", email_verified=False)
    await rig.users.add(squatter)
    await rig.service.on_event(invited(meeting, email="victim@example.org"))
    await rig.deliver_all()
    (mail,) = rig.email.sent
    assert mail.user_id is None and mail.link is not None and "/signup?" in mail.link
    assert (await rig.service.inbox(Actor(squatter.id), PageRequest())).page.total == 0


async def test_the_same_event_twice_stores_and_sends_once(rig):
    _, guest, meeting = await a_world(rig)
    event = invited(meeting, user_id=guest.id)
    await rig.service.on_event(event)
    await rig.service.on_event(event)
    await rig.deliver_all()
    assert len(rig.email.sent) == 1 and len(rig.push.sent) == 1
    assert (await rig.service.inbox(Actor(guest.id), PageRequest())).page.total == 1


async def test_preferences_choose_the_channels_and_security_mail_cannot_be_turned_off(rig):
    _, guest, meeting = await a_world(rig)
    await rig.service.set_preferences(Actor(guest.id), channels={Kind.MEETING_INVITATION: frozenset({Channel.SMS})},
                                      phone="+15551234567")
    await rig.service.on_event(invited(meeting, user_id=guest.id))
    await rig.deliver_all()
    assert [j.address for j in rig.sms.sent] == ["+15551234567"] and rig.email.sent == []
    with pytest.raises(InvalidPreferences):
        await rig.service.set_preferences(Actor(guest.id), channels={Kind.PASSWORD_RESET: frozenset()})
    with pytest.raises(InvalidPreferences):
        await rig.service.set_preferences(Actor(guest.id), timezone="Mars/Olympus")


async def test_quiet_hours_hold_mail_until_they_end_but_not_security_mail(rig):
    _, guest, meeting = await a_world(rig)
    # 09:00 UTC is 11:00 in Paris (summer time): quiet from 10:00 to 12:30 there.
    await rig.service.set_preferences(Actor(guest.id), timezone="Europe/Paris",
                                      quiet_hours=QuietHours(dt.time(10, 0), dt.time(12, 30)))
    await rig.service.on_event(invited(meeting, user_id=guest.id))
    await rig.service.on_event(ue.UserBanned(occurred_at=NOW, user_id=guest.id, by=meeting.host_id))
    await rig.deliver_all()
    assert [j.kind for j in rig.email.sent] == [Kind.ACCOUNT_BANNED]
    assert (await rig.service.inbox(Actor(guest.id), PageRequest())).unread == 1  # in-app is never held
    rig.clock.advance(dt.timedelta(hours=1, minutes=31))
    await rig.deliver_all()
    assert [j.kind for j in rig.email.sent] == [Kind.ACCOUNT_BANNED, Kind.MEETING_INVITATION]


async def test_reminders_are_planned_moved_and_cancelled_with_the_meeting(rig):
    host, guest, meeting = await a_world(rig)
    await rig.service.set_preferences(Actor(guest.id), reminder_minutes=30)
    await rig.service.on_event(invited(meeting, user_id=guest.id))
    planned = await rig.reminders.pending(meeting.id)
    assert {(r.user_id, r.minutes) for r in planned} == {(host.id, 10), (guest.id, 30)}
    moved = meeting.start_time + dt.timedelta(hours=1)
    meeting.start_time = moved
    await rig.meetings.save(meeting)
    await rig.service.on_event(me.MeetingUpdated(occurred_at=NOW, meeting_id=meeting.id, fields=("start_time",)))
    assert {r.fire_at for r in await rig.reminders.pending(meeting.id)} == {
        moved - dt.timedelta(minutes=10), moved - dt.timedelta(minutes=30)}
    await rig.service.on_event(me.MeetingCancelled(occurred_at=NOW, meeting_id=meeting.id, by=host.id))
    assert await rig.reminders.pending(meeting.id) == []


async def test_a_due_reminder_fires_once(rig):
    host, guest, meeting = await a_world(rig)
    await rig.service.on_event(invited(meeting, user_id=guest.id))
    rig.clock.advance(dt.timedelta(hours=1, minutes=50))
    assert await rig.service.fire_due_reminders() == 2
    assert await rig.service.fire_due_reminders() == 0
    await rig.deliver_all()
    reminders = [j for j in rig.email.sent if j.kind is Kind.MEETING_REMINDER]
    assert sorted(j.user_id for j in reminders) == sorted([host.id, guest.id])
    assert "starts in 10 minutes" in reminders[0].title


async def test_a_cancelled_meeting_tells_invitees_and_participants_but_not_who_cancelled(rig):
    host, guest, meeting = await a_world(rig)
    meeting.invited_emails = {"outside@example.org"}
    await rig.meetings.save(meeting)
    await rig.service.on_event(me.MeetingCancelled(occurred_at=NOW, meeting_id=meeting.id, by=host.id))
    await rig.deliver_all()
    assert sorted(j.address for j in rig.email.sent) == sorted([guest.email, "outside@example.org"])


async def test_account_mail_from_the_accounts_stream_carries_its_link_in_the_fragment(rig):
    user = a_user()
    await rig.users.add(user)
    await rig.service.on_event(ue.PasswordResetRequested(occurred_at=NOW, user_id=user.id, email=user.email,
                                                         token="tok-123", expires_at=NOW + dt.timedelta(hours=1)))
    await rig.service.on_event(ue.EmailVerificationRequested(occurred_at=NOW, user_id=user.id,
                                                             email="new@example.org", token="v-9",
                                                             expires_at=NOW + dt.timedelta(days=1)))
    await rig.deliver_all()
    reset, verify = rig.email.sent
    assert reset.link == f"{BASE}/static/reset-password.html#token=tok-123" and reset.unsubscribe_url is None
    assert verify.address == "new@example.org" and verify.link == f"{BASE}/static/verify-email.html#token=v-9"
    assert (await rig.service.inbox(Actor(user.id), PageRequest())).page.total == 0


async def test_password_changes_and_new_clients_are_told_by_email_and_in_app(rig):
    user = a_user()
    await rig.users.add(user)
    await rig.service.on_event(ue.PasswordChanged(occurred_at=NOW, user_id=user.id))
    await rig.service.on_event(ue.UserLoggedIn(occurred_at=NOW, user_id=user.id, session_id="s1", new_client=True))
    await rig.service.on_event(ue.UserLoggedIn(occurred_at=NOW, user_id=user.id, session_id="s2"))
    await rig.deliver_all()
    assert [j.kind for j in rig.email.sent] == [Kind.PASSWORD_CHANGED, Kind.NEW_SIGN_IN]
    assert (await rig.service.inbox(Actor(user.id), PageRequest())).unread == 2


async def test_an_unsubscribe_link_turns_that_kind_off_by_email_only(rig):
    _, guest, meeting = await a_world(rig)
    await rig.service.on_event(invited(meeting, user_id=guest.id))
    await rig.deliver_all()
    token = parse_qs(urlsplit(rig.email.sent[0].unsubscribe_url).query)["token"][0]
    assert await rig.service.unsubscribe(token) == (Kind.MEETING_INVITATION, Channel.EMAIL)
    prefs = await rig.service.preferences_of(Actor(guest.id))
    assert prefs.channels_for(Kind.MEETING_INVITATION) == {Channel.PUSH, Channel.IN_APP}
    with pytest.raises(InvalidUnsubscribeToken):
        await rig.service.unsubscribe(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


async def test_banned_users_hear_nothing_but_the_ban(rig):
    _, guest, meeting = await a_world(rig)
    guest.banned = True
    await rig.users.save(guest)
    await rig.service.on_event(invited(meeting, user_id=guest.id))
    await rig.deliver_all()
    assert rig.email.sent == []


def test_preferences_reject_sms_only_security_and_bad_values():
    user = a_user().id
    with pytest.raises(InvalidPreferences):
        Preferences(user_id=user, phone="12345")
    with pytest.raises(InvalidPreferences):
        Preferences(user_id=user, reminder_minutes=-1)
    assert Channel.SMS not in Preferences(user_id=user, channels={Kind.MEETING_REMINDER: frozenset({Channel.SMS})}
                                          ).channels_for(Kind.MEETING_REMINDER)


async def test_recordings_and_transcripts_of_other_streams_reach_host_and_co_hosts(rig):
    from attrs import frozen

    from domain.shared.events import DomainEvent

    @frozen(kw_only=True)
    class RecordingCompleted(DomainEvent):  # domain/recordings/events.py of the recordings stream
        recording_id: str
        meeting_id: str

    @frozen(kw_only=True)
    class AnalysisCompleted(DomainEvent):  # domain/analysis/events.py of the analysis stream
        analysis_id: str
        kind: str
        requested_by: str
        meeting_id: str | None = None

    host, guest, meeting = await a_world(rig)
    cohost = a_user()
    await rig.users.add(cohost)
    meeting.co_hosts = {cohost.id}
    await rig.meetings.save(meeting)
    await rig.service.on_event(RecordingCompleted(occurred_at=NOW, recording_id="r1", meeting_id=meeting.id))
    await rig.service.on_event(AnalysisCompleted(occurred_at=NOW, analysis_id="a1", kind="transcription",
                                                 requested_by=host.id, meeting_id=meeting.id))
    await rig.service.on_event(AnalysisCompleted(occurred_at=NOW, analysis_id="a2", kind="text_sentiment",
                                                 requested_by=host.id, meeting_id=meeting.id))
    await rig.service.on_event(AnalysisCompleted(occurred_at=NOW, analysis_id="a3", kind="transcription",
                                                 requested_by=host.id))
    await rig.deliver_all()
    got = sorted((j.kind.value, j.address) for j in rig.email.sent)
    assert got == sorted([("recording_ready", host.email), ("recording_ready", cohost.email),
                          ("transcript_ready", host.email), ("transcript_ready", cohost.email)])
