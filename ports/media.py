from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from domain.rooms.media import ParticipantMediaStats
from domain.rooms.model import MediaResetReason
from domain.shared.ids import MeetingId, UserId


class MediaSignals(Protocol):
    """Where the media server's own signals go.

    - ``to_member`` delivers an ``offer`` / ``answer`` / ``ice_candidate`` from the SFU to one member
      (``payload``: ``sdp`` or ``candidate``).
    - ``active_speaker`` tells the whole room who is speaking.
    - ``media_reset`` tells one member that its media connection is gone with the media node that held
      the room, so it makes a new one (docs/signaling.md, section 13.7); its membership is unchanged.
    Any method may raise Unavailable.
    """

    async def to_member(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None: ...
    async def active_speaker(self, room_id: MeetingId, user_id: UserId) -> None: ...
    async def media_reset(self, room_id: MeetingId, user_id: UserId, reason: MediaResetReason) -> None: ...


class MediaServer(Protocol):
    """The SFU: each member has one media connection with it, publishes its tracks there and receives
    every other member's tracks.  Negotiation is over MediaSignals (docs/signaling.md, section 13).

    - ``signal`` hands over an ``offer`` / ``answer`` / ``ice_candidate`` a member sent to the SFU, or
      its ``media_preferences`` (``last_n``, ``pinned``: which cameras it gets, docs/signaling.md 13.9;
      ``video_sizes``, 13.11): a key the payload carries replaces that preference, one it leaves out
      keeps its value.  A
      member's offer (re)starts its connection; the SFU answers, then offers whenever the tracks the
      member should receive change.  Raises InvalidSignal (``field`` names the bad part) when the
      signal cannot be applied (malformed SDP, no codec in common, an answer nobody asked for).  An
      offer's payload may carry ``connection``: the signaling connection that made it.  A media server
      several signaling processes share (a media node) remembers it as the member's current connection.
    - ``remove`` closes the member's connection and stops forwarding its tracks (the others get an
      offer without them); nothing happens for an unknown member.  With ``connection`` (a shared media
      server's clients and the node), nothing happens either when the member's current connection was
      offered from another signaling connection: the removal is about a membership that was replaced
      meanwhile (through another process) and must not close the new one.  An SFU of the signaling
      process itself need not take ``connection`` (that process checks its own members: LocalMedia).
    - ``close_room`` removes every member of the room.
    - ``stats`` describes each member's connection and tracks in the room (empty when none).
    - ``close`` closes every connection (process shutdown).
    """

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None: ...
    async def remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None: ...
    async def close_room(self, room_id: MeetingId) -> None: ...
    async def stats(self, room_id: MeetingId) -> list[ParticipantMediaStats]: ...
    async def close(self) -> None: ...
