"""A track published again from a new connection (an ICE restart, docs/signaling.md 13.12) continues the
one it replaces for the subscribers retargeted to it: the RTP timestamps they are sent go on from the old
track's (plus the time between), VP8 picture ids follow on, so a receiver never sees its stream jump back.
The shift is the subscriber's, as at a simulcast layer switch (test_simulcast.py)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.assembly import EncodedFrame
from adapters.webrtc.forwarding import ForwardedTrack, PublishedTrack

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
    data = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 64, 0, 48, 0]) if keyframe else b"\x11\x02\x00\x00"
    return EncodedFrame(data, rtp, keyframe, 96, 1234)


async def sent(track: ForwardedTrack) -> list[tuple[int, int]]:
    """(RTP timestamp, VP8 picture id) of each queued frame, as the subscriber's sender sends it."""
    out = []
    while not track._queue.empty():
        packet = await track.recv()
        payloads, timestamp = track.rtp_for(packet)  # type: ignore[misc]
        pids = {(p[2] & 0x7F) << 8 | p[3] for p in payloads}
        assert len(pids) == 1
        out.append((timestamp, pids.pop()))
    return out


async def test_the_new_track_goes_on_from_the_old_ones_timestamp_and_picture_id():
    old, new = published(), published()
    sub = old.subscribe()
    for i in range(5):
        old._on_frame(frame(1_000_000 + 3000 * i, keyframe=i == 0))
    (last_ts, last_pid) = (await sent(sub))[-1]
    new.continue_from(old)
    sub.retarget(new)
    time.sleep(0.05)  # the time the restart took
    new._on_frame(frame(7, keyframe=True))  # the new connection's own clock: far from the old one's
    new._on_frame(frame(3007))
    (first_ts, first_pid), (second_ts, second_pid) = await sent(sub)
    assert first_ts - last_ts >= 0.05 * 90000  # at least the time between, never backwards
    assert second_ts - first_ts == 3000
    assert (first_pid, second_pid) == (last_pid + 1, last_pid + 2)
    assert sub.layer_switches == 0  # a restart is not a layer switch
    old.close()
    new.close()


async def test_two_restarts_in_a_row_go_on_from_the_last_track_that_sent():
    old, unused, new = published(), published(), published()
    sub = old.subscribe()
    old._on_frame(frame(90_000, keyframe=True))
    [(last_ts, last_pid)] = await sent(sub)
    unused.continue_from(old)  # restarted again before its connection carried anything
    sub.retarget(unused)
    new.continue_from(unused)
    sub.retarget(new)
    new._on_frame(frame(11, keyframe=True))
    [(first_ts, first_pid)] = await sent(sub)
    assert first_ts > last_ts and first_pid == last_pid + 1
    for track in (old, unused, new):
        track.close()


async def test_another_publisher_on_a_reused_m_line_starts_on_its_own_clock():
    old, other = published(), published()
    sub = old.subscribe()
    old._on_frame(frame(1_000_000, keyframe=True))
    await sent(sub)
    sub.retarget(other)  # not a continuation: an m-line re-used for someone else
    other._on_frame(frame(5, keyframe=True))
    [(ts, _)] = await sent(sub)
    assert ts == 0  # the new source's own pts, unshifted
    old.close()
    other.close()


async def test_a_track_that_replaces_one_that_never_sent_starts_as_usual():
    old, new = published(), published()
    new.continue_from(old)
    sub = new.subscribe()
    new._on_frame(frame(5, keyframe=True))
    [(ts, _)] = await sent(sub)
    assert ts == 0
    old.close()
    new.close()
