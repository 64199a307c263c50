"""Frames that are valid JSON but not valid text (a lone surrogate) get invalid_message, never internal."""

from __future__ import annotations

from tests.unit.signaling_support import frame, signaling, signaling_factory, web_factory  # noqa: F401  (fixtures)
from tests.unit.test_signaling_bad_input import Stage, bad_frame, scene  # noqa: F401  (fixture)


async def test_a_lone_surrogate_in_any_string_of_a_frame_is_an_invalid_message(scene: Stage) -> None:  # noqa: F811
    st, mid, peer = scene, scene.room_id, scene.room.one.user_id
    for kind, data in [
        ("join_room", {"room_id": mid, "password": "door\ud800"}),
        ("chat", {"room_id": mid, "text": "hi \udfff"}),
        ("offer", {"room_id": mid, "to": peer, "sdp": "v=0\ud800"}),
        ("ice_candidate", {"room_id": mid, "to": peer, "candidate": {"candidate": "c", "usernameFragment": "\ud800"}}),
        ("auth", {"token": "\ud800"}),
    ]:
        error = await bad_frame(st, frame(kind, data, id="sur"), "invalid_message", re="sur")
        assert "surrogate" in error["data"]["message"]
    await bad_frame(st, frame("ping", {}, id="\ud800"), "invalid_message", re=None)  # not echoed either
    await st.room.one.never(lambda m: m["type"] in ("chat", "offer", "ice_candidate"), within=0.05)
