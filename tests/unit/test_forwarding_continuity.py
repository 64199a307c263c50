"""A track published again from a new connection (an ICE restart, docs/signaling.md 13.12) continues the
one it replaces for the subscribers retargeted to it: timestamps go on from the old track's (plus the time
between), VP8 picture ids follow on, so a receiver never sees its stream jump back."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.assembly import EncodedFrame
from adapters.webrtc.forwarding import PublishedTrack

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)


class Ended:
    kind, id = "video", "cam"

    async def recv(self) -> None:
        await asyncio.Event().wait()


def published() -> PublishedTrack:
    receiver = SimpleNamespace(track=Ended())
    setattr(receiver, internals.RECEIVER_CODECS, {96: VP8})
    return PublishedTrack(receiver)  # type: ignore[arg-type]


def frame(rtp: int, keyframe: bool = False) -> EncodedFrame:
    return EncodedFrame(b"\x10\x00\x00", rtp, keyframe, 96, 1234)


async def test_the_new_track_goes_on_from_the_old_ones_timestamp_and_picture_id():
    old, new = published(), published()
    sub = old.subscribe()
    for i in range(5):
        old._on_frame(frame(1_000_000 + 3000 * i, keyframe=i == 0))
    sent = [sub._queue.get_nowait() for _ in range(5)]
    last_pts, last_picture = sent[-1].packet.pts, sent[-1].picture_id
    new.continue_from(old)
    sub.retarget(new)
    time.sleep(0.05)  # the time the restart took
    new._on_frame(frame(7, keyframe=True))  # the new connection's own clock: far from the old one's
    new._on_frame(frame(3007))
    first, second = sub._queue.get_nowait(), sub._queue.get_nowait()
    assert first.packet.pts - last_pts >= 0.05 * 90000  # at least the time between, never backwards
    assert second.packet.pts - first.packet.pts == 3000
    assert (first.picture_id, second.picture_id) == (last_picture + 1, last_picture + 2)
    old.close()
    new.close()


async def test_two_restarts_in_a_row_go_on_from_the_last_track_that_sent():
    old, unused, new = published(), published(), published()
    sub = old.subscribe()
    old._on_frame(frame(90_000, keyframe=True))
    last = sub._queue.get_nowait()
    unused.continue_from(old)  # restarted again before its connection carried anything
    new.continue_from(unused)
    sub.retarget(new)
    new._on_frame(frame(11, keyframe=True))
    first = sub._queue.get_nowait()
    assert first.packet.pts > last.packet.pts and first.picture_id == last.picture_id + 1
    for track in (old, unused, new):
        track.close()


async def test_a_track_that_replaces_one_that_never_sent_starts_as_usual():
    old, new = published(), published()
    new.continue_from(old)
    sub = new.subscribe()
    new._on_frame(frame(5, keyframe=True))
    assert sub._queue.get_nowait().packet.pts == 0
    old.close()
    new.close()
