"""Rooms: the live side of a meeting.  Who is connected, their media state, and what they say.

A room's id is its meeting's id.  Membership is presence: a member stays while some process keeps
renewing its deadline (heartbeat); a member whose process crashed, or whose socket closed and did not
come back within the grace period, is reaped and everyone is told it left.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping

from attrs import field, frozen

from domain.shared.ids import UserId

CHAT_MAX = 2000
SDP_MAX = 32_000
CANDIDATE_MAX = 2_000


class LeaveReason(enum.Enum):
    LEFT = "left"
    DISCONNECTED = "disconnected"
    KICKED = "kicked"
    ENDED = "ended"


class MediaResetReason(enum.Enum):
    """Why a member must make a new media connection (docs/signaling.md, section 13.7)."""

    NODE_LOST = "node_lost"  # the media node holding the room stopped answering or left the registry
    NODE_DRAINED = "node_drained"  # the media node was drained and has now gone


class CloseReason(enum.Enum):
    ENDED = "ended"
    CANCELLED = "cancelled"
    DELETED = "deleted"


class SignalKind(enum.Enum):
    OFFER = "offer"
    ANSWER = "answer"
    ICE_CANDIDATE = "ice_candidate"
    MEDIA_PREFERENCES = "media_preferences"  # for the media server only: last-N and pins (docs 13.9)


@frozen(kw_only=True)
class MediaState:
    audio: bool = True   # True = sending (unmuted)
    video: bool = True
    screen: bool = False  # a second video track, the screen share, is being sent (docs 13.8)
    hand: bool = False    # a raised hand: asks the host for the floor; not media, but live state like it


@frozen(kw_only=True)
class Member:
    user_id: UserId
    connection_id: str
    display_name: str
    role: str
    media: MediaState
    joined_at: dt.datetime


@frozen(kw_only=True)
class IceCandidate:
    """An ICE candidate as a member trickles it (``candidate`` "" = end of candidates)."""

    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None
    username_fragment: str | None = None


@frozen(kw_only=True)
class Admission:
    """What the meeting domain says about someone entering the room now."""

    role: str
    display_name: str
    mute_on_join: bool
    # The meeting's roles now (host and co-hosts; everyone else is a participant), so room_state
    # never shows a role from before a promotion or a host transfer.
    roles: Mapping[str, str] = field(factory=dict)
