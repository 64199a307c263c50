"""The desktop client's audio output (clients/desktop/playback.py): the others' tracks mixed into one
stream, written by a thread of its own to a sink (here a list; in the meeting test ALSA's null device)."""

from __future__ import annotations

import asyncio
import time
from array import array
from typing import Any

from clients.desktop.media import ToneTrack
from clients.desktop.playback import CHUNK, DeviceSink, Speaker, mix


class ListSink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.closed = False

    def write(self, pcm: bytes) -> None:
        self.chunks.append(pcm)

    def close(self) -> None:
        self.closed = True


def samples(pcm: bytes) -> list[int]:
    return list(array("h", pcm))


def test_mixing_adds_the_samples_and_clips_to_16_bits() -> None:
    a = array("h", [1000, -2000, 30000, -30000]).tobytes()
    b = array("h", [500, 500, 30000, -30000]).tobytes()
    assert samples(mix([a, b])) == [1500, -1500, 32767, -32768]
    assert mix([a]) == a


def wait_for(condition: Any, what: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


async def test_two_tracks_are_mixed_chunk_by_chunk_and_a_forgotten_track_drops_out() -> None:
    frames_a, frames_b = await _tone(6), await _tone(5)  # 20 ms frames of the 440 Hz tone (mono, 48 kHz)
    speaker, alone = Speaker(ListSink, start=False), Speaker(ListSink, start=False)
    for fa, fb in zip(frames_a, frames_b):
        speaker.feed("a", fa)
        speaker.feed("b", fb)
        alone.feed("a", fa)
    for _ in range(4):  # the resampler holds a little back: 4 whole chunks out of 5 frames
        one, two = alone.mixed(), speaker.mixed()
        assert one is not None and two is not None and len(one) == len(two) == CHUNK
        assert samples(two) == [2 * s for s in samples(one)]  # the same tone in phase: twice the samples
    assert max(samples(one)) > 5000
    assert speaker.mixed() is None
    speaker.forget("b")
    speaker.feed("a", frames_a[5])
    alone.feed("a", frames_a[5])
    assert speaker.mixed() == alone.mixed() is not None  # a alone from now on


def test_the_player_thread_writes_what_is_fed_to_its_sink_and_closes_it() -> None:
    sink = ListSink()
    speaker = Speaker(lambda: sink)
    track_frames = asyncio.run(_tone(10))
    try:
        for frame in track_frames:
            speaker.feed("a", frame)
        wait_for(lambda: speaker.chunks_played >= 9, "the fed audio is played")
    finally:
        speaker.close()
    assert sink.closed and speaker.error is None and len(sink.chunks) == speaker.chunks_played


async def _tone(count: int) -> list[Any]:
    track = ToneTrack()
    try:
        return [await track.recv() for _ in range(count)]
    finally:
        track.stop()


async def test_a_device_that_cannot_be_opened_leaves_the_meeting_without_sound_but_going() -> None:
    speaker = Speaker.for_device("alsa:no-such-device-here")
    try:
        track = ToneTrack()
        speaker.feed("a", await track.recv())  # never raises
        await asyncio.sleep(0)
        wait_for(lambda: speaker.error is not None, "the device's failure is kept")
    finally:
        speaker.close()
    assert speaker.chunks_played == 0


def test_alsa_null_takes_the_audio() -> None:
    sink = DeviceSink("alsa:null")
    try:
        for _ in range(3):
            sink.write(bytes(CHUNK))
    finally:
        sink.close()
    assert sink.pts == 3 * 960
