"""The notification policy: which domain event concerns whom, as what kind of notification.

Pure: the service reads the meeting's facts first and hands them in.  Events of streams built in
parallel (password reset, email verification, recordings, transcripts) are matched by class name, so
this module does not depend on their modules existing; their fields are read by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from attrs import field, frozen

from domain.meetings import events as me
from domain.notifications.facts import MeetingFacts
from domain.notifications.model import Kind
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, UserId
from domain.users import events as ue
from domain.users.links import LINK_PAGES, LinkPurpose


@frozen(kw_only=True)
class Intent:
    """Tell ``user_id`` (or, for an address with no account, ``email``) about something of ``kind``.
    ``path`` is the link inside the web client; ``params`` fill the templates."""

    kind: Kind
    user_id: UserId | None = None
    email: str | None = None
    path: str | None = None
    params: Mapping[str, Any] = field(factory=dict)


# Events whose meeting the service must read before deciding (and whose reminders it re-plans).
NEEDS_MEETING = (me.UserInvited, me.MeetingUpdated, me.MeetingCancelled, me.ParticipantKicked,
                 me.CoHostPromoted, me.CoHostDemoted, me.HostTransferred, me.MeetingCreated)
BY_NAME_NEEDS_MEETING = ("RecordingCompleted", "TranscriptCompleted", "TranscriptReady", "AnalysisCompleted")


def needs_meeting(event: DomainEvent) -> MeetingId | None:
    if isinstance(event, NEEDS_MEETING) or type(event).__name__ in BY_NAME_NEEDS_MEETING:
        meeting_id = getattr(event, "meeting_id", None)  # an analysis may be of no meeting
        return MeetingId(meeting_id) if meeting_id else None
    return None


def meeting_params(m: MeetingFacts) -> dict[str, Any]:
    return {"meeting_id": m.id, "meeting_title": m.title, "start_time": m.start_time.isoformat()}


def intents_for(event: DomainEvent, meeting: MeetingFacts | None) -> list[Intent]:
    """What ``event`` means for whom.  ``meeting`` is the event's meeting as it is now (None when the
    event has none or it is gone: then meeting notifications are skipped)."""
    name = type(event).__name__
    if name in _BY_NAME:
        return _BY_NAME[name](event, meeting)
    if needs_meeting(event) is not None and meeting is None:
        return []
    match event:
        case me.UserInvited(user_id=uid, email=email, by=by):
            assert meeting is not None
            params = meeting_params(meeting) | {"inviter_id": by}
            if uid is not None:
                return [Intent(kind=Kind.MEETING_INVITATION, user_id=UserId(uid), path=f"/meetings/{meeting.id}",
                               params=params)]
            if email:
                # The service turns this into a user intent when the address has an account.
                query = urlencode({"email": email, "meeting": meeting.id})
                return [Intent(kind=Kind.MEETING_INVITATION, email=email, path=f"/signup?{query}", params=params)]
            return []
        case me.MeetingUpdated(fields=fields):
            assert meeting is not None
            who = (meeting.invited_users | meeting.participants | meeting.co_hosts) - {meeting.host_id}
            params = meeting_params(meeting) | {"fields": ", ".join(fields)}
            return [Intent(kind=Kind.MEETING_CHANGED, user_id=u, path=f"/meetings/{meeting.id}", params=params)
                    for u in sorted(who)]
        case me.MeetingCancelled(by=by):
            assert meeting is not None
            who = (meeting.invited_users | meeting.participants | meeting.managers) - {UserId(by)}
            out = [Intent(kind=Kind.MEETING_CANCELLED, user_id=u, params=meeting_params(meeting))
                   for u in sorted(who)]
            out += [Intent(kind=Kind.MEETING_CANCELLED, email=e, params=meeting_params(meeting))
                    for e in sorted(meeting.invited_emails)]
            return out
        case me.ParticipantKicked(user_id=uid):
            assert meeting is not None
            return [Intent(kind=Kind.REMOVED_FROM_MEETING, user_id=UserId(uid), params=meeting_params(meeting))]
        case me.CoHostPromoted(user_id=uid) | me.CoHostDemoted(user_id=uid):
            assert meeting is not None
            role = "co-host" if isinstance(event, me.CoHostPromoted) else "participant"
            return [Intent(kind=Kind.ROLE_CHANGED, user_id=UserId(uid), path=f"/meetings/{meeting.id}",
                           params=meeting_params(meeting) | {"role": role})]
        case me.HostTransferred(to_user_id=uid):
            assert meeting is not None
            return [Intent(kind=Kind.ROLE_CHANGED, user_id=UserId(uid), path=f"/meetings/{meeting.id}",
                           params=meeting_params(meeting) | {"role": "host"})]
        case ue.UserBanned(user_id=uid):
            return [Intent(kind=Kind.ACCOUNT_BANNED, user_id=UserId(uid))]
        case ue.UserLoggedIn(user_id=uid) if getattr(event, "new_client", False):
            # UserLoggedIn says nothing about the client yet; a user stream that adds `new_client`
            # (and the client's description) turns this on without a change here.
            return [Intent(kind=Kind.NEW_SIGN_IN, user_id=UserId(uid), path="/account",
                           params={"client": getattr(event, "client", "") or "a new device"})]
    return []


def _password_changed(event: DomainEvent, _: MeetingFacts | None) -> list[Intent]:
    return [Intent(kind=Kind.PASSWORD_CHANGED, user_id=UserId(getattr(event, "user_id")), path="/account")]


def _token_mail(kind: Kind, purpose: LinkPurpose) -> Any:
    # The accounts stream's pages, token in the fragment (which browsers never send to a server):
    # domain.users.links.link_url builds the same URL from the public origin.
    def decide(event: DomainEvent, _: MeetingFacts | None) -> list[Intent]:
        expires = getattr(event, "expires_at", None)
        return [Intent(kind=kind, user_id=UserId(getattr(event, "user_id")), email=getattr(event, "email"),
                       path=f"{LINK_PAGES[purpose]}#{urlencode({'token': getattr(event, 'token')})}",
                       params={"expires_at": expires.isoformat() if expires is not None else ""})]
    return decide


def _ready(kind: Kind, id_field: str) -> Any:
    def decide(event: DomainEvent, meeting: MeetingFacts | None) -> list[Intent]:
        if meeting is None:
            return []
        params = meeting_params(meeting) | {"item_id": str(getattr(event, id_field, "") or "")}
        return [Intent(kind=kind, user_id=u, path=f"/meetings/{meeting.id}", params=params)
                for u in sorted(meeting.managers)]
    return decide


def _analysis(event: DomainEvent, meeting: MeetingFacts | None) -> list[Intent]:
    # The analysis stream's AnalysisCompleted(kind="transcription") is "the transcript is ready".
    if getattr(event, "kind", None) != "transcription":
        return []
    return _ready(Kind.TRANSCRIPT_READY, "analysis_id")(event, meeting)


_BY_NAME = {
    "PasswordChanged": _password_changed,
    "EmailVerificationRequested": _token_mail(Kind.EMAIL_VERIFICATION, LinkPurpose.VERIFY_EMAIL),
    "PasswordResetRequested": _token_mail(Kind.PASSWORD_RESET, LinkPurpose.RESET_PASSWORD),
    "RecordingCompleted": _ready(Kind.RECORDING_READY, "recording_id"),
    "TranscriptCompleted": _ready(Kind.TRANSCRIPT_READY, "transcript_id"),
    "TranscriptReady": _ready(Kind.TRANSCRIPT_READY, "transcript_id"),
    "AnalysisCompleted": _analysis,
}


def reminder_plan_changes(event: DomainEvent) -> bool:
    """Whether the meeting's reminders must be planned again (who is reminded, or when, changed)."""
    if isinstance(event, me.MeetingUpdated):
        return "start_time" in event.fields or "start" in event.fields
    return isinstance(event, me.MeetingCreated | me.UserInvited | me.CoHostPromoted | me.CoHostDemoted
                      | me.HostTransferred)


def reminders_end(event: DomainEvent) -> bool:
    return isinstance(event, me.MeetingCancelled | me.MeetingDeleted | me.MeetingEnded | me.MeetingStarted)
