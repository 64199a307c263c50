"""A subscriber whose m-line just went live starts at the keyframe its subscription asked for, instead
of asking again (a browser ignores a second request that soon, which cost a second of black video)."""

from __future__ import annotations

import asyncio
from typing import Any

import av

from adapters.webrtc.forwarding import ForwardedFrame, ForwardedTrack


class Source:
    def __init__(self) -> None:
        self.requests = 0

    def request_keyframe(self, layer: int | None = None) -> None:
        self.requests += 1

    def _unsubscribe(self, track: Any) -> None:
        pass


def frame(n: int, keyframe: bool) -> ForwardedFrame:
    return ForwardedFrame(av.Packet(bytes([n])), keyframe, "vp8", n)


async def drained(track: ForwardedTrack) -> list[int]:
    out = []
    while not track._queue.empty():
        out.append(bytes(await track.recv())[0])
    return out


async def test_restart_keeps_the_newest_queued_keyframe_and_what_follows_without_a_new_request():
    source = Source()
    track = ForwardedTrack(source, "video", 30)  # type: ignore[arg-type]
    for n, key in ((1, True), (2, False), (3, True), (4, False)):
        track._offer(frame(n, key))
    track.restart()
    assert await drained(track) == [3, 4] and source.requests == 0 and not track.waiting_for_keyframe


async def test_restart_without_a_queued_keyframe_waits_for_a_fresh_one_and_asks_for_it():
    source = Source()
    track = ForwardedTrack(source, "video", 30)  # type: ignore[arg-type]
    track._offer(frame(1, True))
    await track.recv()  # sent already: nothing to start from
    track._offer(frame(2, False))
    track.restart()
    assert await drained(track) == [] and source.requests == 1 and track.waiting_for_keyframe
    track._offer(frame(3, False))
    track._offer(frame(4, True))
    assert await drained(track) == [4]


async def test_restart_of_audio_drops_what_is_queued_and_an_ended_track_stays_ended():
    audio = ForwardedTrack(Source(), "audio", 50)  # type: ignore[arg-type]
    audio._offer(frame(1, False))
    audio.restart()
    assert await drained(audio) == []
    ended = ForwardedTrack(Source(), "video", 30)  # type: ignore[arg-type]
    ended._offer(frame(1, True))
    ended._end()
    ended.restart()
    assert ended._queue.qsize() == 1 and ended._queue.get_nowait() is None
    await asyncio.sleep(0)
