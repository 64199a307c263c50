"""TrackTap's stamps as properties, for any RTP timestamps and arrival times: a track's stamps in the file
strictly increase; a sender whose RTP clock agrees with arrival is stamped on its RTP clock, pauses
included; and whatever came before, once the sender has been regular for a while the file is not behind
arrival by more than REANCHOR_S (a pause the RTP clock did not count is kept as a gap)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.webm.muxer import MediaPacket
from adapters.webrtc.recording_tap import REANCHOR_S, StayClock, TrackTap
from tests.support.encoded import FakePublished

ORIGIN = 1000.0
RATE = {"audio": 48000, "video": 90000}

kinds = st.sampled_from(["audio", "video"])
rtp_steps = st.one_of(st.just(None), st.integers(0, (1 << 32) - 1), st.integers(-5 * 90000, 5 * 90000))
arrival_steps = st.one_of(st.just(0.02), st.floats(0, 0.1), st.floats(0, 10))
histories = st.lists(st.tuples(rtp_steps, arrival_steps), max_size=150)


class Run:
    """One track's tap on a fake clock; ``send(rtp_step, arrival_step)`` (None: the usual 20 ms)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.time = ORIGIN
        self.rtp = 12345
        self.published = FakePublished(kind)
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.tap = TrackTap(self.published, StayClock(monotonic=lambda: self.time), self.queue)  # type: ignore[arg-type]
        self.tap.attach()
        self.stamps: list[int] = []
        self.sent = 0

    def send(self, rtp_step: int | None, arrival_step: float) -> None:
        if self.sent:
            self.time += arrival_step
            self.rtp += RATE[self.kind] // 50 if rtp_step is None else rtp_step
        self.published.send(b"x", self.rtp, True)
        self.sent += 1
        while not self.queue.empty():
            packet: MediaPacket = self.queue.get_nowait()
            self.stamps.append(packet.pts_ms)

    def lag(self) -> float:
        """How far the last stamp is behind arrival (negative: ahead)."""
        return (self.time - ORIGIN) - self.stamps[-1] / 1000


@settings(max_examples=300, deadline=None)
@given(kinds, histories)
def test_a_tracks_stamps_strictly_increase_whatever_the_clocks_do(kind: str, history: list[tuple[int | None, float]]) -> None:
    run = Run(kind)
    for rtp_step, arrival_step in history:
        run.send(rtp_step, arrival_step)
    assert len(run.stamps) == len(history)
    assert all(b > a for a, b in zip(run.stamps, run.stamps[1:])), run.stamps
    assert not run.stamps or run.stamps[0] == 0


@settings(max_examples=200, deadline=None)
@given(kinds, st.lists(st.integers(1, 20_000), max_size=100))
def test_a_sender_whose_clocks_agree_is_stamped_on_its_rtp_clock_gaps_included(kind: str, steps_ms: list[int]) -> None:
    run = Run(kind)
    run.send(0, 0.0)
    for ms in steps_ms:
        run.send(ms * RATE[kind] // 1000, ms / 1000)
    expected = [0]
    for ms in steps_ms:
        expected.append(expected[-1] + ms)
    assert run.stamps == expected
    assert run.tap.reanchored == 0 and run.tap.restamped == 0


@settings(max_examples=300, deadline=None)
@given(kinds, histories)
def test_after_any_history_a_regular_sender_is_not_left_behind_arrival(kind: str, history: list[tuple[int | None, float]]) -> None:
    run = Run(kind)
    for rtp_step, arrival_step in history:
        run.send(rtp_step, arrival_step)
    run.send(None, 5.0)  # a pause that the RTP clock did not count ...
    for _ in range(150):  # ... then three seconds of regular packets
        run.send(None, 0.02)
    assert run.lag() <= REANCHOR_S + 0.001
    assert all(b > a for a, b in zip(run.stamps, run.stamps[1:]))
