"""MediaServer contract (ports/media.py): the SFU in process, or a media node over gRPC.  Errors are
checked by exact class and details (a remote adapter raises the very error the SFU raised).

Members here are aiortc peer connections, so the suite opens real WebRTC connections: run it where that
is allowed and works (Confero's own tests run it inside a private network namespace whose only address
is 127.0.0.1, see tests/integration/test_media_server_contract.py).

The fixture ``harness`` is a MediaServerHarness:

- ``harness.media``: the MediaServer under test;
- ``harness.signals``: the QueuedMediaSignals (below) that the SFU behind ``media`` sends its own
  signals to, wherever that SFU runs, so the suite's members can answer it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, Protocol

import pytest

from domain.rooms.errors import InvalidSignal
from domain.shared.ids import MeetingId, UserId, new_id
from ports.media import MediaServer

WAIT = 20.0  # seconds: a negotiation on a busy machine; never a measured bound


class QueuedMediaSignals:
    """MediaSignals into one queue per member: what the SFU sent to ``(room, user)``."""

    def __init__(self) -> None:
        self.queues: dict[tuple[MeetingId, UserId], asyncio.Queue[tuple[str, dict[str, Any]]]] = {}
        self.speakers: list[tuple[MeetingId, UserId]] = []
        self.resets: list[tuple[MeetingId, UserId, Any]] = []

    def queue(self, room_id: MeetingId, user_id: UserId) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        return self.queues.setdefault((room_id, user_id), asyncio.Queue())

    async def to_member(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        self.queue(room_id, user_id).put_nowait((kind, dict(payload)))

    async def active_speaker(self, room_id: MeetingId, user_id: UserId) -> None:
        self.speakers.append((room_id, user_id))

    async def media_reset(self, room_id: MeetingId, user_id: UserId, reason: Any) -> None:
        self.resets.append((room_id, user_id, reason))


class MediaServerHarness(Protocol):
    media: MediaServer
    signals: QueuedMediaSignals


class Member:
    """An aiortc peer that publishes audio and video to the SFU and answers its offers."""

    def __init__(self, harness: MediaServerHarness, room_id: MeetingId, name: str) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection

        self.harness, self.room_id, self.user_id = harness, room_id, UserId(new_id())
        self.name = name
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames: dict[str, int] = {}  # track id ("<publisher>-<kind>") -> frames decoded
        self.offers = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self.pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._count(track))))

    async def publish(self) -> None:
        from aiortc import AudioStreamTrack, VideoStreamTrack

        self.pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
        self.pc.addTransceiver(VideoStreamTrack(), direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._tasks.append(asyncio.ensure_future(self._answer_the_sfu()))
        await self.harness.media.signal(self.room_id, self.user_id, "offer", {"sdp": self.pc.localDescription.sdp})

    async def _answer_the_sfu(self) -> None:
        from aiortc import RTCSessionDescription

        queue = self.harness.signals.queue(self.room_id, self.user_id)
        while True:
            kind, payload = await queue.get()
            if kind not in ("offer", "answer"):
                continue  # aiortc's SDP already holds the SFU's candidates
            await self.pc.setRemoteDescription(RTCSessionDescription(payload["sdp"], kind))
            if kind == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self.harness.media.signal(self.room_id, self.user_id, "answer",
                                                {"sdp": self.pc.localDescription.sdp})
                self.offers += 1

    async def _count(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        self.frames[track.id] = 0
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames[track.id] += 1

    async def until(self, check: Any, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not check():
            assert loop.time() < deadline, f"{self.name}: {what} did not happen"
            await asyncio.sleep(0.05)

    async def receives_video_of(self, other: Member, frames: int = 3) -> None:
        await self.until(lambda: self.frames.get(f"{other.user_id}-video", 0) >= frames,
                         f"video from {other.name}")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


async def raises_exactly(error: type[Exception], call: Any) -> Exception:
    with pytest.raises(Exception) as caught:
        await call
    assert type(caught.value) is error, f"{type(caught.value).__name__} instead of {error.__name__}"
    return caught.value


async def _connected(harness: MediaServerHarness, room_id: MeetingId, *members: Member) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        states = {s.user_id: s.connection_state for s in await harness.media.stats(room_id)}
        if all(states.get(m.user_id) == "connected" for m in members):
            return
        assert loop.time() < deadline, f"connection states {states}"
        await asyncio.sleep(0.1)


class MediaServerContract:
    @pytest.fixture
    async def harness(self) -> MediaServerHarness:
        raise NotImplementedError

    @pytest.fixture
    async def members(self, harness):  # type: ignore[no-untyped-def]
        made: list[Member] = []

        def make(room_id: MeetingId, name: str) -> Member:
            made.append(Member(harness, room_id, name))
            return made[-1]

        yield make
        for m in made:
            await m.close()

    async def test_an_offer_is_answered_and_the_member_connects_publishing_its_tracks(self, harness, members):
        room = MeetingId(new_id())
        ann = members(room, "ann")
        await ann.publish()
        await _connected(harness, room, ann)
        [stats] = await harness.media.stats(room)
        assert stats.user_id == ann.user_id
        assert {(t.publisher_id, t.kind, t.direction) for t in stats.tracks} >= {
            (ann.user_id, "audio", "inbound"), (ann.user_id, "video", "inbound")}

    async def test_members_receive_each_others_media(self, harness, members):
        room = MeetingId(new_id())
        ann, bob = members(room, "ann"), members(room, "bob")
        await ann.publish()
        await bob.publish()
        await asyncio.gather(ann.receives_video_of(bob), bob.receives_video_of(ann))
        outbound = {(t.publisher_id, t.kind) for s in await harness.media.stats(room) if s.user_id == bob.user_id
                    for t in s.tracks if t.direction == "outbound"}
        assert outbound >= {(ann.user_id, "audio"), (ann.user_id, "video")}

    async def test_rooms_are_apart(self, harness, members):
        one, two = MeetingId(new_id()), MeetingId(new_id())
        ann, bob = members(one, "ann"), members(two, "bob")
        await ann.publish()
        await bob.publish()
        await _connected(harness, one, ann)
        await _connected(harness, two, bob)
        assert [s.user_id for s in await harness.media.stats(one)] == [ann.user_id]
        assert [s.user_id for s in await harness.media.stats(two)] == [bob.user_id]
        assert not any(t.startswith(bob.user_id) for t in ann.frames)

    async def test_remove_closes_the_members_connection_and_the_others_are_offered_less(self, harness, members):
        room = MeetingId(new_id())
        ann, bob = members(room, "ann"), members(room, "bob")
        await ann.publish()
        await bob.publish()
        await bob.receives_video_of(ann)
        offers = bob.offers
        await harness.media.remove(room, ann.user_id)
        assert [s.user_id for s in await harness.media.stats(room)] == [bob.user_id]
        await bob.until(lambda: bob.offers > offers, "an offer without ann's tracks")
        await harness.media.remove(room, ann.user_id)  # again: nothing happens
        await harness.media.remove(room, UserId(new_id()))
        await harness.media.remove(MeetingId(new_id()), bob.user_id)
        assert [s.user_id for s in await harness.media.stats(room)] == [bob.user_id]

    async def test_close_room_removes_every_member(self, harness, members):
        room = MeetingId(new_id())
        ann, bob = members(room, "ann"), members(room, "bob")
        await ann.publish()
        await bob.publish()
        await _connected(harness, room, ann, bob)
        await harness.media.close_room(room)
        assert await harness.media.stats(room) == []
        await harness.media.close_room(room)  # again: nothing happens
        await harness.media.close_room(MeetingId(new_id()))

    async def test_an_unknown_room_has_no_stats(self, harness):
        assert await harness.media.stats(MeetingId(new_id())) == []

    async def test_an_offer_that_is_not_sdp_is_an_invalid_signal_naming_sdp_and_opens_nothing(self, harness):
        room, user = MeetingId(new_id()), UserId(new_id())
        err = await raises_exactly(InvalidSignal, harness.media.signal(room, user, "offer", {"sdp": "hello world"}))
        assert err.details["field"] == "sdp" and err.message
        assert await harness.media.stats(room) == []

    async def test_an_answer_nobody_asked_for_is_an_invalid_signal_naming_sdp(self, harness):
        room, user = MeetingId(new_id()), UserId(new_id())
        err = await raises_exactly(InvalidSignal, harness.media.signal(room, user, "answer", {"sdp": "v=0\r\n"}))
        assert err == InvalidSignal(field="sdp")

    async def test_a_members_end_of_candidates_is_taken_and_a_bad_candidate_is_invalid(self, harness, members):
        room = MeetingId(new_id())
        ann = members(room, "ann")
        await ann.publish()
        await _connected(harness, room, ann)
        await harness.media.signal(room, ann.user_id, "ice_candidate",
                                   {"candidate": {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}})
        err = await raises_exactly(InvalidSignal, harness.media.signal(
            room, ann.user_id, "ice_candidate", {"candidate": {"candidate": "candidate:not a candidate",
                                                               "sdpMid": "0", "sdpMLineIndex": 0}}))
        assert err.details["field"] == "candidate"
