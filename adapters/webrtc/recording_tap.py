"""The recorder's tap on a published track: encoded frames, stamped and queued, never waited on.

A ``TrackTap`` is one of ``PublishedTrack.observers``: it runs inside the forwarding path, so it
only stamps the frame and offers it to the stay's bounded queue (``put_nowait``).  When the queue
is full the frame is dropped and counted as a gap; for video, frames are then dropped up to the
next keyframe, which is requested (PLI), because the file cannot bridge a missing video frame.

Timestamps: each track's RTP clock is anchored on the arrival time of its first frame, on the
stay's clock (``StayClock``: milliseconds since the stay's first frame of any track), so audio and
video share one time line.  The RTP clock then gives the spacing.  A track's stamps only go forward,
strictly (the file's timestamps must increase within a track whatever the network or the sender's
clock does; frames squeezed 1 ms apart after a jump back are not a fix either: they overlap what is
written, and ffmpeg's decode reports "non monotonically increasing dts"):

- when the RTP clock lags arrival by more than ``REANCHOR_S`` for ``SUSTAIN_S`` (a publisher whose
  RTP clock stood still while it sent nothing), the track is moved forward by the least lag seen
  meanwhile: the file keeps the pause as a gap.  A deviation that does not last is a delay on the
  way (a stalled network or event loop, then a burst): the RTP clock is kept, so the file has no
  false gap;
- when the RTP clock runs ahead of arrival the track is never moved back (the frames already written
  would be overlapped): a delay that had lasted long enough to look like a pause, then drained,
  stays as a gap;
- when the RTP clock steps back or stands still from one frame to the next, or leaps ahead of the
  time that passed by more than ``REANCHOR_S`` (a new SSRC, a restarted encoder), the track is
  anchored again at once on arrival, and no sooner than one frame interval after its last stamp
  (``restamped``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable

from adapters.webm.muxer import MediaPacket
from adapters.webrtc.assembly import EncodedFrame
from adapters.webrtc.forwarding import PublishedTrack

log = logging.getLogger(__name__)
REANCHOR_S = 0.5
SUSTAIN_S = 1.0
KEYFRAME_RETRY_S = 1.0
USUAL_STEP_MS = {"audio": 20, "video": 33}  # a restamped frame comes one frame interval after the last
MAX_STEP_MS = 100


class StayClock:
    """Origin of a stay's file: set by the first frame of any of its tracks."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        self._monotonic, self._wall = monotonic, wall
        self.origin: float | None = None
        self.started_at: dt.datetime | None = None

    def now(self) -> float:
        """Seconds since the origin (which this call sets when it is not set yet)."""
        now = self._monotonic()
        if self.origin is None:
            self.origin, self.started_at = now, self._wall()
        return now - self.origin


class TrackTap:
    def __init__(self, published: PublishedTrack, clock: StayClock,
                 queue: asyncio.Queue[MediaPacket | None]) -> None:
        self.published = published
        self.kind = published.kind
        self._clock = clock
        self._queue = queue
        self._anchor: tuple[float, int] | None = None  # (stay seconds, unwrapped RTP) of one frame
        self._astray_since: float | None = None
        self._least_lag = 0.0  # the least lag behind arrival since ``_astray_since``
        self._last: tuple[int, float] | None = None  # (stamp in ms, arrival) of the last frame queued
        self._step_ms = USUAL_STEP_MS.get(self.kind, 20)  # the track's latest frame interval (for a restamp)
        self._rtp_last: int | None = None
        self._rtp = 0
        self._need_keyframe = self.kind == "video"
        self._asked_at = -float("inf")
        self.frames = 0
        self.dropped = 0
        self.gaps = 0
        self.reanchored = 0
        self.restamped = 0

    def attach(self) -> None:
        self.published.observers.append(self)
        self._ask_keyframe()

    def detach(self) -> None:
        if self in self.published.observers:
            self.published.observers.remove(self)

    def follow(self, published: PublishedTrack) -> None:
        """The member's connection restarted (docs/signaling.md 13.12): the track goes on as ``published``,
        a new RTP stream (its own SSRC, clock and encoder) that says nothing about the old one's time line.
        So the tap anchors it again on the arrival of its first frame (never before the last stamp: the
        restart's pause stays in the file as a gap) and, for video, starts it at a keyframe."""
        self.detach()
        self.published = published
        self._rtp_last, self._rtp, self._anchor, self._astray_since = None, 0, None, None
        self._need_keyframe = self.kind == "video"
        self.attach()

    def __call__(self, frame: EncodedFrame) -> None:
        if self._rtp_last is not None:  # unwrap the 32-bit RTP clock
            self._rtp += (frame.rtp_timestamp - self._rtp_last + (1 << 31)) % (1 << 32) - (1 << 31)
        self._rtp_last = frame.rtp_timestamp
        if self._need_keyframe:
            if not frame.keyframe:
                self.dropped += 1
                if time.monotonic() - self._asked_at > KEYFRAME_RETRY_S:
                    self._ask_keyframe()
                return
            self._need_keyframe = False
        now = self._clock.now()
        codec = self.published.codec
        rate = codec.clockRate if codec is not None else (90000 if self.kind == "video" else 48000)
        if self._anchor is None:
            self._anchor = (now, self._rtp)
        at = self._anchor[0] + (self._rtp - self._anchor[1]) / rate
        if self._last is not None:
            last_ms, last_now = self._last
            if round(at * 1000) <= last_ms or at - last_ms / 1000 - (now - last_now) > REANCHOR_S:
                at = max(round(now * 1000), last_ms + self._step_ms) / 1000  # the sender's clock broke
                self._anchor, self._astray_since = (at, self._rtp), None
                self.restamped += 1
                log.info("recording: a track's RTP clock jumped; stamped on arrival",
                         extra={"track": self.published.id, "kind": self.kind})
        lag = now - at
        if lag <= REANCHOR_S:  # on time, or ahead of arrival: the track never goes back
            self._astray_since = None
        elif self._astray_since is None:
            self._astray_since, self._least_lag = now, lag
        else:
            self._least_lag = min(self._least_lag, lag)
            if now - self._astray_since >= SUSTAIN_S:
                self._anchor = (self._anchor[0] + self._least_lag, self._anchor[1])
                at += self._least_lag
                self._astray_since = None
                self.reanchored += 1
        stamp = round(at * 1000)
        try:
            self._queue.put_nowait(MediaPacket(self.kind, frame.data, stamp, frame.keyframe))
            self.frames += 1
            if self._last is not None and 0 < stamp - self._last[0] <= MAX_STEP_MS:
                self._step_ms = stamp - self._last[0]
            self._last = (stamp, now)
        except asyncio.QueueFull:
            self.dropped += 1
            self.gaps += 1
            if self.kind == "video":
                self._need_keyframe = True
                self._ask_keyframe()

    def _ask_keyframe(self) -> None:
        if self.kind == "video":
            self._asked_at = time.monotonic()
            self.published.request_keyframe()
