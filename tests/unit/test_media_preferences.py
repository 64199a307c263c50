"""A media_preferences message changes only the fields it carries (docs/signaling.md 13.9, 13.11): the merge
(domain/rooms/preferences.py) and what the SFU reads from a message (adapters/webrtc/sfu.py)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.webrtc.sfu import AiortcMediaServer, media_preferences
from domain.rooms.errors import InvalidSignal
from domain.rooms.layers import TileSize
from domain.rooms.preferences import NO_PREFERENCES, UNCHANGED, MediaPreferences, PreferencesChange
from domain.shared.ids import MeetingId, UserId

ROOM = MeetingId("00000000-0000-4000-8000-0000000000aa")
ANN, BOB = UserId("00000000-0000-4000-8000-000000000001"), UserId("00000000-0000-4000-8000-000000000002")
SET = MediaPreferences(last_n=4, pinned=frozenset({ANN}), video_sizes={ANN: TileSize(640, 360)})


def test_a_change_without_fields_changes_nothing() -> None:
    assert PreferencesChange().applied_to(SET) == SET
    assert PreferencesChange().applied_to(NO_PREFERENCES) == NO_PREFERENCES


@pytest.mark.parametrize(("change", "expected"), [
    (PreferencesChange(last_n=2), MediaPreferences(last_n=2, pinned=frozenset({ANN}), video_sizes={ANN: TileSize(640, 360)})),
    (PreferencesChange(last_n=None), MediaPreferences(pinned=frozenset({ANN}), video_sizes={ANN: TileSize(640, 360)})),
    (PreferencesChange(pinned=frozenset()), MediaPreferences(last_n=4, video_sizes={ANN: TileSize(640, 360)})),
    (PreferencesChange(video_sizes={BOB: TileSize(320, 180)}),
     MediaPreferences(last_n=4, pinned=frozenset({ANN}), video_sizes={BOB: TileSize(320, 180)})),
    (PreferencesChange(video_sizes={}), MediaPreferences(last_n=4, pinned=frozenset({ANN}))),
    (PreferencesChange(last_n=0, pinned=frozenset({BOB}), video_sizes={}),
     MediaPreferences(last_n=0, pinned=frozenset({BOB}))),
])
def test_each_field_a_change_carries_replaces_that_field_only(change: PreferencesChange,
                                                              expected: MediaPreferences) -> None:
    assert change.applied_to(SET) == expected


def test_the_sizes_a_change_carries_are_its_own_copy() -> None:
    sizes = {ANN: TileSize(1, 1)}
    merged = PreferencesChange(video_sizes=sizes).applied_to(NO_PREFERENCES)
    sizes[BOB] = TileSize(2, 2)
    assert merged.video_sizes == {ANN: TileSize(1, 1)}


@pytest.mark.parametrize(("payload", "expected"), [
    ({}, PreferencesChange()),
    ({"video_sizes": {ANN: {"width": 640, "height": 360}}},
     PreferencesChange(video_sizes={ANN: TileSize(640, 360)})),
    ({"last_n": None}, PreferencesChange(last_n=None)),
    ({"pinned": []}, PreferencesChange(pinned=frozenset())),
    ({"video_sizes": {}}, PreferencesChange(video_sizes={})),
    ({"last_n": 3, "pinned": [BOB]}, PreferencesChange(last_n=3, pinned=frozenset({BOB}))),
])
def test_the_sfu_reads_only_the_fields_a_message_carries(payload: dict[str, Any], expected: PreferencesChange) -> None:
    change = media_preferences(payload)
    assert change == expected
    assert (change.last_n is UNCHANGED) == ("last_n" not in payload)


class Signals:
    async def to_member(self, *args: Any) -> None: ...
    async def active_speaker(self, *args: Any) -> None: ...


@pytest.mark.parametrize("bad", [{"last_n": 3, "pinned": "x"}, {"pinned": [BOB], "video_sizes": {ANN: {"width": 0}}},
                                 {"video_sizes": {ANN: {"width": 1, "height": 1}}, "last_n": -1}])
async def test_a_message_with_one_bad_field_changes_nothing(bad: dict[str, Any]) -> None:
    server = AiortcMediaServer(Signals())
    await server.signal(ROOM, ANN, "media_preferences", {"last_n": 4, "pinned": [ANN],
                                                         "video_sizes": {ANN: {"width": 640, "height": 360}}})
    with pytest.raises(InvalidSignal):
        await server.signal(ROOM, ANN, "media_preferences", bad)
    assert server.preferences[(ROOM, ANN)] == SET


async def test_members_preferences_are_their_own_and_end_with_the_room() -> None:
    server = AiortcMediaServer(Signals())
    await server.signal(ROOM, ANN, "media_preferences", {"last_n": 4, "pinned": [ANN]})
    await server.signal(ROOM, BOB, "media_preferences", {"video_sizes": {ANN: {"width": 640, "height": 360}}})
    assert server.preferences[(ROOM, ANN)] == MediaPreferences(last_n=4, pinned=frozenset({ANN}))
    assert server.preferences[(ROOM, BOB)] == MediaPreferences(video_sizes={ANN: TileSize(640, 360)})
    await server.close_room(ROOM)
    assert server.preferences == {}
