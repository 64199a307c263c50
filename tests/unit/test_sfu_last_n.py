"""Last-N (docs/signaling.md 13.9): the media_preferences message, and whose cameras the SFU picks.

The SFU's choice is tested on a room whose peers are stand-ins (only ``published`` is read); the
forwarding itself (paused m-lines, no renegotiation) is tests/integration/test_sfu_large_rooms.py.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.webrtc.sfu import AiortcMediaServer, SfuRoom, media_preferences
from domain.rooms.errors import InvalidSignal
from domain.rooms.layers import TileSize
from domain.shared.ids import MeetingId, UserId
from runners.signaling.protocol import ProtocolError, parse

ROOM = "00000000-0000-4000-8000-0000000000aa"


def user(n: int) -> UserId:
    return UserId(f"00000000-0000-4000-8000-{n:012d}")


def frame(data: dict[str, Any]) -> str:
    return json.dumps({"v": 1, "type": "media_preferences", "id": "r1", "data": {"room_id": ROOM, **data}})


def test_a_member_may_ask_for_its_own_n_and_pins() -> None:
    kind, _, data = parse(frame({"last_n": 4, "pinned": [user(3)]}))
    assert kind == "media_preferences" and data == {"room_id": ROOM, "last_n": 4, "pinned": [user(3)]}
    assert parse(frame({"last_n": None}))[2]["last_n"] is None


@pytest.mark.parametrize("data", [{"last_n": 101}, {"last_n": -1}, {"last_n": "4"}, {"pinned": ["bob"]},
                                  {"pinned": [user(i) for i in range(17)]}, {"n": 3}])
def test_anything_else_is_an_invalid_message(data: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as err:
        parse(frame(data))
    assert err.value.code == "invalid_message"


@pytest.mark.parametrize("payload", [{"last_n": True}, {"last_n": 101}, {"last_n": 2.5}, {"pinned": "x"},
                                     {"pinned": [1]}])
def test_the_sfu_checks_the_preferences_itself(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidSignal):
        media_preferences(payload)


class Signals:
    async def to_member(self, *args: Any) -> None: ...
    async def active_speaker(self, *args: Any) -> None: ...


def room_of(server: AiortcMediaServer, members: int, cameraless: tuple[int, ...] = ()) -> SfuRoom:
    room = SfuRoom.__new__(SfuRoom)  # no speaker task: only the choice is under test
    room.server, room.room_id, room.recent_speakers = server, MeetingId(ROOM), []
    room.peers = {user(i): SimpleNamespace(published={} if i in cameraless else {"audio": 1, "video": 2})
                  for i in range(members)}  # type: ignore[misc]
    return room


async def test_without_n_everyone_gets_every_camera() -> None:
    room = room_of(AiortcMediaServer(Signals()), 6)
    assert room.last_n_for(user(0)) is None


async def test_the_most_recent_speakers_come_first_then_the_others_in_the_order_they_joined() -> None:
    room = room_of(AiortcMediaServer(Signals(), last_n=3), 8, cameraless=(2,))
    assert room.last_n_for(user(0)) == {user(1), user(3), user(4)}  # user 2 has no camera
    room.recent_speakers = [user(6), user(0), user(5)]
    assert room.last_n_for(user(0)) == {user(6), user(5), user(1)}
    assert room.last_n_for(user(6)) == {user(0), user(5), user(1)}


async def test_pins_count_towards_n_and_stay_beyond_it_and_each_member_chooses_for_itself() -> None:
    server = AiortcMediaServer(Signals(), last_n=3)
    room = room_of(server, 8)
    room.recent_speakers = [user(6), user(5)]
    await server.signal(room.room_id, user(0), "media_preferences", {"last_n": 2, "pinned": [user(7)]})
    assert room.last_n_for(user(0)) == {user(7), user(6)}
    assert room.last_n_for(user(1)) == {user(6), user(5), user(0)}
    await server.signal(room.room_id, user(0), "media_preferences", {"last_n": 1, "pinned": [user(7), user(3)]})
    assert room.last_n_for(user(0)) == {user(7), user(3)}
    await server.signal(room.room_id, user(0), "media_preferences", {"last_n": 0})
    assert room.last_n_for(user(0)) is None


async def test_tile_sizes_sent_alone_keep_the_members_n_and_pins() -> None:
    """The web client sends video_sizes alone whenever a tile resizes (docs/signaling.md 13.9, 13.11)."""
    server = AiortcMediaServer(Signals(), last_n=3)
    room = room_of(server, 8)
    room.recent_speakers = [user(6), user(5)]
    await server.signal(room.room_id, user(0), "media_preferences", {"last_n": 2, "pinned": [user(7)]})
    await server.signal(room.room_id, user(0), "media_preferences",
                        {"video_sizes": {user(7): {"width": 320, "height": 180}}})
    assert room.last_n_for(user(0)) == {user(7), user(6)}
    assert server.preferences[(room.room_id, user(0))].video_sizes == {user(7): TileSize(320, 180)}
    await server.signal(room.room_id, user(0), "media_preferences", {"pinned": []})  # unpins, keeps N and sizes
    assert room.last_n_for(user(0)) == {user(6), user(5)}
    assert server.preferences[(room.room_id, user(0))].video_sizes == {user(7): TileSize(320, 180)}
    await server.signal(room.room_id, user(0), "media_preferences", {"last_n": None})  # the server's N again
    assert room.last_n_for(user(0)) == {user(6), user(5), user(1)}
    await server.remove(room.room_id, user(0))  # leaving forgets them
    assert (room.room_id, user(0)) not in server.preferences
