"""Hostile and broken frames: each gets an error frame with a stable code (or the stated close code),
the process never falls over, and the people in another room go on chatting throughout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from attrs import define

from domain.rooms.model import CHAT_MAX
from tests.unit.signaling_support import (  # noqa: F401  (fixtures)
    CheckedClient,
    Signaling,
    SignalingFactory,
    frame,
    signaling,
    signaling_factory,
    web_factory,
)
from tests.unit.web_support import Caller

MESSAGE_TOO_BIG = 1009
POLICY_VIOLATION = 1008


@define
class Bystanders:
    """Two members of another room; ``still_chatting`` proves their room still works."""

    room_id: str
    one: CheckedClient
    two: CheckedClient
    said: int = 0

    async def still_chatting(self) -> None:
        self.said += 1
        text = f"still here {self.said}"
        assert (await self.one.request("chat", {"room_id": self.room_id, "text": text}))["type"] == "ack"
        for client in (self.one, self.two):
            assert (await client.next("chat"))["data"]["text"] == text
        offer = await self.two.request("offer", {"room_id": self.room_id, "to": self.one.user_id, "sdp": "v=0"})
        assert offer["type"] == "ack"
        assert (await self.one.next("offer"))["data"]["from"] == self.two.user_id

    async def saw_nothing_else(self) -> None:
        for client in (self.one, self.two):
            await client.never(lambda m: m["type"] not in ("member_joined",), within=0.05)


@define
class Stage:
    s: Signaling
    room_id: str
    bad: CheckedClient
    bad_user: Caller
    room: Bystanders


async def stage(s: Signaling) -> Stage:
    """A client (in a room of its own) about to misbehave, and two bystanders in another room."""
    mallory, ann, bob = await s.web.user("mallory"), await s.web.user("ann"), await s.web.user("bob")
    own = await s.meeting(mallory)
    bad, _ = await s.member(mallory, own)
    other = await s.meeting(ann)
    one, _ = await s.member(ann, other)
    two, _ = await s.member(bob, other)
    await one.next("member_joined")
    return Stage(s, own, bad, mallory, Bystanders(other, one, two))


@pytest.fixture
async def scene(signaling: Signaling) -> AsyncIterator[Stage]:
    st = await stage(signaling)
    await st.room.still_chatting()
    yield st
    await st.room.still_chatting()
    await st.room.saw_nothing_else()


async def bad_frame(st: Stage, raw: str | bytes, code: str, re: str | None = None) -> dict:
    """Sends one bad frame: it earns an error with ``code``; the socket and the other room carry on."""
    await st.bad.send_raw(raw)
    error = await st.bad.error()
    assert error["data"]["code"] == code, error
    assert error.get("re") == re, error
    await st.room.still_chatting()
    await st.bad.alive()
    return error


async def test_malformed_json_is_answered_with_malformed_json(scene: Stage) -> None:
    for raw in ("{", "not json", '{"v":1,"type":"ping",}', "", "[" * 5000 + "]" * 5000, '{"v":1,"type":"ping"'):
        await bad_frame(scene, raw, "malformed_json")


@pytest.mark.parametrize("raw", [
    "[]", "1", '"ping"', "null", "true",
    json.dumps({"type": "ping", "data": {}}),                          # no v
    json.dumps({"v": 2, "type": "ping", "data": {}}),                  # another protocol version
    json.dumps({"v": "1", "type": "ping", "data": {}}),
    json.dumps({"v": True, "type": "ping", "data": {}}),
    json.dumps({"v": 1, "type": "ping", "data": []}),                  # data not an object
    json.dumps({"v": 1, "type": "ping", "data": {}, "extra": 1}),      # an unknown envelope field
    json.dumps({"v": 1, "type": "ping", "data": {}, "content_type": "x"}),
    json.dumps({"v": 1, "type": "ping", "data": {}, "id": 7}),          # a request id that is not a string
])
async def test_frames_that_are_no_protocol_message_are_invalid(scene: Stage, raw: str) -> None:
    await bad_frame(scene, raw, "invalid_message")


@pytest.mark.parametrize("raw", [
    json.dumps({"v": 1, "type": "shutdown", "data": {}}),
    json.dumps({"v": 1, "type": "welcome", "data": {}}),              # a server message, not a client one
    json.dumps({"v": 1, "type": 5, "data": {}}),
    json.dumps({"v": 1, "data": {}}),
])
async def test_unknown_message_types_are_answered_with_unknown_type(scene: Stage, raw: str) -> None:
    await bad_frame(scene, raw, "unknown_type")


async def test_wrong_field_types_and_unknown_fields_are_invalid(scene: Stage) -> None:
    st, mid, peer = scene, scene.room_id, scene.room.one.user_id
    for kind, data in [
        ("join_room", {"room_id": 42}),
        ("join_room", {"room_id": "not-a-uuid"}),
        ("join_room", {}),
        ("join_room", {"room_id": mid, "password": ""}),
        ("join_room", {"room_id": mid, "admin": True}),
        ("chat", {"room_id": mid, "text": 5}),
        ("chat", {"room_id": mid}),
        ("chat", {"room_id": mid, "text": "hi", "from": peer}),
        ("media_state", {"room_id": mid, "audio": "yes", "video": True, "screen": False}),
        ("media_state", {"room_id": mid, "audio": True}),
        ("offer", {"room_id": mid, "to": peer, "sdp": ""}),
        ("offer", {"room_id": mid, "to": peer, "sdp": "x" * 32_001}),
        ("offer", {"room_id": mid, "to": "someone", "sdp": "v=0"}),
        ("ice_candidate", {"room_id": mid, "to": peer, "candidate": "candidate:1"}),
        ("ice_candidate", {"room_id": mid, "to": peer, "candidate": {"candidate": "c", "evil": 1}}),
        ("ice_candidate", {"room_id": mid, "to": peer, "candidate": {"candidate": "c", "sdpMLineIndex": -1}}),
        ("ping", {"x": 1}),
        ("auth", {"token": 123}),
    ]:
        error = await bad_frame(st, frame(kind, data, id="bad1"), "invalid_message", re="bad1")
        assert error["data"]["message"]
    await st.room.one.never(lambda m: m["type"] in ("offer", "ice_candidate"), within=0.05)


async def test_an_oversized_frame_closes_the_socket_with_1009(signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_WS_MAX_FRAME_BYTES="2048")
    st = await stage(s)
    await st.bad.send("chat", {"room_id": st.room_id, "text": "x" * 1900})  # just under: fine
    await st.bad.next("chat")
    await st.bad.send_raw(frame("chat", {"room_id": st.room_id, "text": "x" * 4000}))
    assert await st.bad.closed() == MESSAGE_TOO_BIG
    await st.room.still_chatting()
    again, state = await s.member(st.bad_user, st.room_id)  # the same user simply reconnects
    assert state["self"]["user_id"] == st.bad_user.id
    await again.alive()


async def test_a_binary_frame_is_unsupported(scene: Stage) -> None:
    await bad_frame(scene, b'{"v":1,"type":"ping","data":{}}', "unsupported_frame")
    await bad_frame(scene, b"\x00\xff", "unsupported_frame")


async def test_a_flood_is_rate_limited_then_closed(signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_WS_RATE="1", APP_WS_BURST="5")
    st = await stage(s)
    for _ in range(30):
        await st.bad.send_raw(frame("ping", {}, id="flood"))
    assert await st.bad.closed() == POLICY_VIOLATION
    kinds = [m["type"] for m in st.bad.inbox]
    limited = [m for m in st.bad.inbox if m["type"] == "error"]
    assert {m["data"]["code"] for m in limited} == {"rate_limited"}
    assert len(limited) == 5  # one per violation up to the burst, then the socket is closed
    assert 1 <= kinds.count("pong") <= 5
    await st.room.still_chatting()


async def test_messages_for_a_room_not_joined_are_refused(scene: Stage) -> None:
    st = scene
    other, peer = st.room.room_id, st.room.one.user_id
    for kind, data in [
        ("chat", {"room_id": other, "text": "let me in"}),
        ("media_state", {"room_id": other, "audio": False, "video": False, "screen": False}),
        ("offer", {"room_id": other, "to": peer, "sdp": "v=0"}),
        ("answer", {"room_id": other, "to": peer, "sdp": "v=0"}),
        ("ice_candidate", {"room_id": other, "to": peer, "candidate": {"candidate": "c"}}),
        ("leave_room", {"room_id": other}),
    ]:
        error = await bad_frame(st, frame(kind, data, id="nope"), "not_in_room", re="nope")
        assert error["data"]["details"] == {"room_id": other}
    await st.room.one.never(lambda m: m["type"] in ("chat", "offer", "answer", "ice_candidate", "media_state",
                                                      "member_left"), within=0.05)


async def test_chat_text_must_fit_the_limit(scene: Stage) -> None:
    st = scene
    await bad_frame(st, frame("chat", {"room_id": st.room_id, "text": "x" * (CHAT_MAX + 1)}, id="long"),
                    "invalid_message", re="long")
    await bad_frame(st, frame("chat", {"room_id": st.room_id, "text": ""}, id="empty"), "invalid_message", re="empty")
    await bad_frame(st, frame("chat", {"room_id": st.room_id, "text": "  \n "}, id="blank"), "invalid_signal",
                    re="blank")
    assert (await st.bad.request("chat", {"room_id": st.room_id, "text": "x" * CHAT_MAX}))["type"] == "ack"


async def test_request_ids_are_echoed_when_present(scene: Stage) -> None:
    st = scene
    await bad_frame(st, frame("shutdown", {}, id="q1"), "unknown_type", re="q1")
    await bad_frame(st, frame("chat", {"room_id": st.room_id}, id="q2"), "invalid_message", re="q2")
    await bad_frame(st, frame("chat", {"room_id": st.room_id}), "invalid_message", re=None)
    await bad_frame(st, frame("ping", {}, id="q" * 65), "invalid_message", re=None)  # too long to echo
    assert (await st.bad.request("ping", {}))["re"].startswith("r")
    await st.bad.send_raw(frame("ping", {}, id="x" * 64))
    assert (await st.bad.next("pong"))["re"] == "x" * 64
    await st.bad.send_raw(frame("ping", {}))
    assert "re" not in await st.bad.next("pong")
