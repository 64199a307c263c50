"""What a room says: typed facts the room service publishes on the SignalBus.

Each event names the room and what happened; who receives it follows from its class (the signaling
runner turns it into a protocol frame and, where the event ends a membership, a close code).  They
are ephemeral (at-most-once), unlike the meeting domain's events.
"""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from domain.rooms.model import (CloseReason, IceCandidate, LeaveReason, MediaResetReason, MediaState, Member,
                                SignalKind)
from domain.shared.ids import MeetingId, UserId


@frozen(kw_only=True)
class RoomEvent:
    room_id: MeetingId


@frozen(kw_only=True)
class MemberJoined(RoomEvent):
    """For everyone but the member."""

    member: Member


@frozen(kw_only=True)
class MemberLeft(RoomEvent):
    """For everyone but the member; ``connection_id`` is the connection whose membership ended."""

    user_id: UserId
    connection_id: str
    reason: LeaveReason


@frozen(kw_only=True)
class MemberResumed(RoomEvent):
    """The member came back on a new connection (keeps its place): for everyone but the member."""

    user_id: UserId


@frozen(kw_only=True)
class SessionReplaced(RoomEvent):
    """For the member's replaced connection only, which is no longer in the room."""

    user_id: UserId
    connection_id: str


@frozen(kw_only=True)
class MemberKicked(RoomEvent):
    """For the kicked user's connections, which leave the room and are closed."""

    user_id: UserId
    by: UserId | None


@frozen(kw_only=True)
class MemberRemoved(RoomEvent):
    """The user left the meeting elsewhere (HTTP): for the user's connections, which leave the room."""

    user_id: UserId


@frozen(kw_only=True)
class RoomClosed(RoomEvent):
    """For everyone; nobody is in the room any more."""

    reason: CloseReason


@frozen(kw_only=True)
class LockChanged(RoomEvent):
    locked: bool


@frozen(kw_only=True)
class RecordingChanged(RoomEvent):
    """For everyone: the room's media is being recorded from now on (``active``), or no longer
    (``reason``: stopped, failed or meeting_ended).  Many jurisdictions require that people see this."""

    recording_id: str
    active: bool
    started_by: str | None = None
    reason: str | None = None


@frozen(kw_only=True)
class CaptionsChanged(RoomEvent):
    """For everyone: live captions were turned on or off (``by`` the host or co-host; None when the
    meeting ended), or, while on, speech-to-text became unavailable (``available`` False, ``reason``
    says why) or came back.  Every process holding the room's media starts or stops its caption tap
    on it."""

    on: bool
    available: bool = True
    by: UserId | None = None
    reason: str | None = None


@frozen(kw_only=True)
class CaptionSpoken(RoomEvent):
    """For everyone: one caption, partial or final (a partial is replaced by the next caption with the
    same ``caption_id``).  ``start_s``/``end_s`` are seconds since the meeting started."""

    caption_id: str
    speaker_id: UserId
    display_name: str
    text: str
    final: bool
    start_s: float
    end_s: float
    start_at: dt.datetime
    end_at: dt.datetime


@frozen(kw_only=True)
class RoleChanged(RoomEvent):
    user_id: UserId
    role: str


@frozen(kw_only=True)
class ChatPosted(RoomEvent):
    """For everyone, the sender included (one order for all)."""

    message_id: str
    sender: UserId
    display_name: str
    text: str
    sent_at: dt.datetime


@frozen(kw_only=True)
class MediaChanged(RoomEvent):
    """For everyone but the member."""

    user_id: UserId
    media: MediaState


@frozen(kw_only=True)
class SignalSent(RoomEvent):
    """A WebRTC signal for one member (``to``) only: ``sdp`` for offers and answers, ``candidate`` for
    ICE candidates."""

    kind: SignalKind
    sender: UserId
    to: UserId
    sdp: str | None = None
    candidate: IceCandidate | None = None


@frozen(kw_only=True)
class ActiveSpeakerChanged(RoomEvent):
    user_id: UserId


@frozen(kw_only=True)
class MediaReset(RoomEvent):
    """For one member only: its media connection is gone with the media node that held it; it makes a
    new one (a fresh offer to the SFU).  Its membership of the room is unchanged."""

    user_id: UserId
    reason: MediaResetReason


@frozen(kw_only=True)
class AccessRevoked:
    """Not of one room: every process closes the user's sockets of that session (all sessions when
    ``session_id`` is None)."""

    user_id: UserId
    session_id: str | None = None
