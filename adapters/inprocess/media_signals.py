"""MediaSignals onto the SignalBus: the SFU's own signals travel like any member's, as typed room
events (from SFU_PEER_ID), to the member or the whole room."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.rooms.events import ActiveSpeakerChanged, MediaReset, SignalSent
from domain.rooms.media import SFU_PEER_ID
from domain.rooms.model import IceCandidate, MediaResetReason, SignalKind
from domain.shared.ids import MeetingId, UserId
from ports.rooms import SignalBus


def candidate_from(raw: Mapping[str, Any]) -> IceCandidate:
    return IceCandidate(candidate=raw["candidate"], sdp_mid=raw.get("sdpMid"),
                        sdp_mline_index=raw.get("sdpMLineIndex"), username_fragment=raw.get("usernameFragment"))


class SignalBusMediaSignals:
    def __init__(self, bus: SignalBus) -> None:
        self.bus = bus

    async def to_member(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        raw = payload.get("candidate")
        await self.bus.publish(SignalSent(
            room_id=room_id, kind=SignalKind(kind), sender=SFU_PEER_ID, to=user_id, sdp=payload.get("sdp"),
            candidate=None if raw is None else candidate_from(raw)))

    async def active_speaker(self, room_id: MeetingId, user_id: UserId) -> None:
        await self.bus.publish(ActiveSpeakerChanged(room_id=room_id, user_id=user_id))

    async def media_reset(self, room_id: MeetingId, user_id: UserId, reason: MediaResetReason) -> None:
        await self.bus.publish(MediaReset(room_id=room_id, user_id=user_id, reason=reason))
