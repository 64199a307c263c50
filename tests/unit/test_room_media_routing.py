"""Signals addressed to the SFU go to the MediaServer port; the SFU's own signals go out on the bus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from adapters.memory.rooms import InMemoryRoomPresence, InMemorySignalBus
from adapters.system.clock import FrozenClock
from domain.meetings.errors import NotMeetingHost
from domain.rooms.media import SFU_PEER_ID, ParticipantMediaStats
from domain.rooms.media_signals import SignalBusMediaSignals
from domain.rooms.model import Admission, RoomMessage
from domain.rooms.service import RoomService
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId
from tests.unit.conftest import START

ROOM = MeetingId("cccccccc-0000-4000-8000-000000000003")
ANN, BOB = Actor(UserId("aaaaaaaa-0000-4000-8000-000000000001")), Actor(UserId("bbbbbbbb-0000-4000-8000-000000000002"))


class RecordingMediaServer:
    """A fake SFU: remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        self.calls.append(("signal", user_id, kind, dict(payload)))

    async def remove(self, room_id: MeetingId, user_id: UserId) -> None:
        self.calls.append(("remove", user_id))

    async def close_room(self, room_id: MeetingId) -> None:
        self.calls.append(("close_room", room_id))

    async def stats(self, room_id: MeetingId) -> list[ParticipantMediaStats]:
        return []

    async def close(self) -> None:
        pass


class HostOnlyMeetings:
    async def admit(self, actor: Actor, meeting_id: MeetingId, password: str | None) -> Admission:
        return Admission(role="host" if actor == ANN else "participant", display_name="x", mute_on_join=False)

    async def depart(self, actor: Actor, meeting_id: MeetingId) -> None:
        pass

    async def require_manager(self, actor: Actor, meeting_id: MeetingId) -> None:
        if actor != ANN:
            raise NotMeetingHost("only the host")


@pytest.fixture
async def room() -> tuple[RoomService, RecordingMediaServer, list[RoomMessage]]:
    bus, media, heard = InMemorySignalBus(), RecordingMediaServer(), []

    async def hear(message: RoomMessage) -> None:
        heard.append(message)

    service = RoomService(presence=InMemoryRoomPresence(), bus=bus, meetings=HostOnlyMeetings(),
                          clock=FrozenClock(START), media=media)
    async with bus.listen(ROOM, hear):
        await service.join(ANN, ROOM, "c-ann")
        await service.join(BOB, ROOM, "c-bob")
        heard.clear()
        yield service, media, heard


async def test_an_offer_to_the_sfu_goes_to_the_media_server_and_not_to_the_room(room: Any) -> None:
    service, media, heard = room
    await service.relay(ANN, ROOM, "c-ann", "offer", SFU_PEER_ID, {"sdp": "v=0"})
    assert media.calls == [("signal", ANN.user_id, "offer", {"sdp": "v=0"})]
    assert heard == []


async def test_leaving_removes_the_member_from_the_sfu(room: Any) -> None:
    service, media, _ = room
    await service.leave(BOB, ROOM, "c-bob")
    assert media.calls == [("remove", BOB.user_id)]
    await service.on_meeting_event("meeting.ended", {"meeting_id": ROOM})
    assert media.calls[-1] == ("close_room", ROOM)


async def test_the_sfus_signals_reach_one_member_and_its_speaker_everyone(room: Any) -> None:
    service, _, heard = room
    signals = SignalBusMediaSignals(service.bus)
    await signals.to_member(ROOM, BOB.user_id, "offer", {"sdp": "v=0"})
    await signals.active_speaker(ROOM, ANN.user_id)
    assert [(m.kind, m.to, m.data) for m in heard] == [
        ("offer", BOB.user_id, {"room_id": ROOM, "from": SFU_PEER_ID, "sdp": "v=0"}),
        ("active_speaker", None, {"room_id": ROOM, "user_id": ANN.user_id})]


async def test_only_managers_see_media_stats(room: Any) -> None:
    service, _, _ = room
    assert await service.media_stats(ANN, ROOM) == []
    with pytest.raises(NotMeetingHost):
        await service.media_stats(BOB, ROOM)
