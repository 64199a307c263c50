"""The SFU's signals travel like any member's: through the SignalBus, to the member or the room."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen

from domain.rooms.media import SFU_PEER_ID
from domain.rooms.model import RoomMessage
from domain.shared.ids import MeetingId, UserId
from ports.rooms import SignalBus


@frozen
class SignalBusMediaSignals:
    bus: SignalBus

    async def to_member(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        await self.bus.publish(RoomMessage(room_id=room_id, kind=kind, to=user_id,
                                           data={"room_id": room_id, "from": SFU_PEER_ID, **payload}))

    async def active_speaker(self, room_id: MeetingId, user_id: UserId) -> None:
        await self.bus.publish(RoomMessage(room_id=room_id, kind="active_speaker",
                                           data={"room_id": room_id, "user_id": user_id}))
