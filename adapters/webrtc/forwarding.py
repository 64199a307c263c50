"""Selective forwarding of encoded media between aiortc peer connections (no decode, no encode).

Publisher side: ``PublishedTrack.tap(receiver)`` swaps the receiver's jitter buffer for a frame
assembler (``assembly.py``) before the receiver starts, so complete encoded frames come out on
the marker bit and the receiver's decoder thread never gets work (it idles until the receiver
stops). Each frame becomes ONE ``av.Packet`` (pts in the codec's clock, ``time_base`` 1/clock
rate) and, lazily, ONE list of RTP payloads: both are shared by every subscriber.

Subscriber side: ``PublishedTrack.subscribe()`` gives a ``ForwardedTrack`` (a
``MediaStreamTrack`` yielding those ``av.Packet`` objects). ``attach(sender, track)`` installs a
``ForwardingPacketizer`` as the sender's encoder (so aiortc only sends the shared payloads) and
routes the subscriber's PLI/FIR to the publisher. A new subscriber waits for a keyframe and a
PLI is sent for it; a subscriber whose bounded queue overflows drops its queue and waits for the
next keyframe (audio drops the oldest frame instead).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.assembly import AudioFrameAssembler, EncodedFrame, VideoFrameAssembler

logger = logging.getLogger(__name__)

VIDEO_QUEUE = 30  # frames: 2 s at 15 fps
AUDIO_QUEUE = 50  # frames: 1 s of 20 ms Opus
KEYFRAME_REQUEST_INTERVAL = 0.3  # s between two PLIs sent to one publisher


class ReceiverAlreadyStarted(RuntimeError):
    """The receiver runs already: its jitter buffer can no longer be replaced safely."""


class ForwardedFrame:
    """One publisher frame as every subscriber sees it: created once, never copied per subscriber."""

    __slots__ = ("packet", "keyframe", "codec_name", "picture_id", "audio_level", "_payloads")

    def __init__(self, packet: av.Packet, keyframe: bool, codec_name: str, picture_id: int,
                 audio_level: int | None = None) -> None:
        self.packet, self.keyframe, self.codec_name, self.picture_id = packet, keyframe, codec_name, picture_id
        self.audio_level = audio_level  # the publisher's ssrc-audio-level (0 loudest .. 127), when it sent one
        self._payloads: list[bytes] | None = None

    def payloads(self) -> list[bytes]:
        if self._payloads is None:
            self._payloads = packetize(self.codec_name, bytes(self.packet), self.picture_id)
        return self._payloads


def packetize(codec_name: str, data: bytes, picture_id: int) -> list[bytes]:
    if codec_name == "vp8":
        return internals.vp8_payloads(data, picture_id)
    if codec_name == "h264":
        return internals.h264_payloads(data)
    return [data]  # audio codecs: one frame per RTP packet


class PublishedTrack:
    def __init__(self, receiver: RTCRtpReceiver, *, video_queue: int = VIDEO_QUEUE,
                 audio_queue: int = AUDIO_QUEUE) -> None:
        self.receiver = receiver
        self.kind: str = receiver.track.kind
        self.id: str = receiver.track.id
        self.label: str = self.kind  # which of the publisher's sections: "audio", "video", "screen"... (sfu_peer)
        self.codec: RTCRtpCodecParameters | None = None
        self._queue_size = video_queue if self.kind == "video" else audio_queue
        self._subscribers: set[ForwardedTrack] = set()
        self._loop = asyncio.get_running_loop()
        self._ssrc: int | None = None
        self._last_pli = -float("inf")
        self._keyframe_since_pli = True
        self._rtp_last: int | None = None
        self._pts = 0
        self._picture_id = 0
        self._closed = False
        self._pli_tasks: set[asyncio.Task[None]] = set()
        self.frames_in = 0
        self.bytes_in = 0
        self.keyframe_requests = 0
        self.observers: list[Callable[[EncodedFrame], None]] = []  # see every frame (e.g. audio levels)
        self.assembler: VideoFrameAssembler | AudioFrameAssembler
        if self.kind == "video":
            self.assembler = VideoFrameAssembler(self._on_frame, self._codec_name)
        else:
            self.assembler = AudioFrameAssembler(self._on_frame)
        self._watch = asyncio.ensure_future(self._close_when_ended(receiver.track))

    @classmethod
    def tap(cls, receiver: RTCRtpReceiver, **options: int) -> PublishedTrack:
        """Call from the peer connection's "track" event, before the connection starts receiving."""
        if internals.receiver_started(receiver):
            raise ReceiverAlreadyStarted(receiver.track.id if receiver.track else "?")
        published = cls(receiver, **options)
        internals.replace_jitter_buffer(receiver, published.assembler)
        return published

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def subscribers(self) -> frozenset[ForwardedTrack]:
        return frozenset(self._subscribers)

    def mime_type(self) -> str | None:
        if self.codec is not None:
            return self.codec.mimeType
        names = [c.mimeType for c in internals.receiver_codecs(self.receiver) if c.name.lower() != "rtx"]
        return names[0] if names else None

    def subscribe(self) -> ForwardedTrack:
        if self._closed:
            raise MediaStreamError("the published track has ended")
        track = ForwardedTrack(self, self.kind, self._queue_size)
        self._subscribers.add(track)
        if self.kind == "video":
            self.request_keyframe()
        return track

    def _unsubscribe(self, track: ForwardedTrack) -> None:
        self._subscribers.discard(track)

    def _adopt(self, track: ForwardedTrack) -> None:
        """``track`` (a subscription moved here from another source, or resumed) gets this track's
        frames from the next keyframe on."""
        if self._closed:
            raise MediaStreamError("the published track has ended")
        self._subscribers.add(track)
        if self.kind == "video":
            self.request_keyframe()

    def request_keyframe(self) -> None:
        """Send a PLI to the publisher, unless one was sent very recently and no keyframe came since."""
        now = time.monotonic()
        if self._ssrc is None or self._closed or self.kind != "video":
            return  # nothing received yet: the stream will start with a keyframe anyway
        if not self._keyframe_since_pli and now - self._last_pli < KEYFRAME_REQUEST_INTERVAL:
            return
        self._last_pli, self._keyframe_since_pli = now, False
        self.keyframe_requests += 1
        task = self._loop.create_task(internals.send_pli(self.receiver, self._ssrc))
        self._pli_tasks.add(task)
        task.add_done_callback(self._pli_tasks.discard)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for track in list(self._subscribers):
            if track.reusable:
                track.detach()  # its sender lives on, for another track (SfuPeer re-uses m-lines)
            else:
                track._end()
        self._subscribers.clear()
        self._watch.cancel()

    def _codec_name(self, payload_type: int) -> str | None:
        codec = internals.receiver_codec(self.receiver, payload_type)
        return codec.name if codec else None

    def _on_frame(self, frame: EncodedFrame) -> None:
        codec = internals.receiver_codec(self.receiver, frame.payload_type)
        if codec is None or self._closed:
            return
        self.codec, self._ssrc = codec, frame.ssrc
        self.frames_in += 1
        self.bytes_in += len(frame.data)
        for observe in self.observers:
            observe(frame)
        if self._rtp_last is not None:  # unwrap the 32-bit RTP clock into a growing pts
            self._pts += (frame.rtp_timestamp - self._rtp_last + (1 << 31)) % (1 << 32) - (1 << 31)
        self._rtp_last = frame.rtp_timestamp
        if frame.keyframe:
            self._keyframe_since_pli = True
        if not self._subscribers:
            return
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = self._pts
        packet.time_base = fractions.Fraction(1, codec.clockRate)
        packet.is_keyframe = frame.keyframe
        shared = ForwardedFrame(packet, frame.keyframe, codec.name.lower(), self._picture_id, frame.audio_level)
        self._picture_id = (self._picture_id + 1) % (1 << 15)
        for track in list(self._subscribers):
            track._offer(shared)

    async def _close_when_ended(self, remote: MediaStreamTrack) -> None:
        # The receiver's (idle) decoder thread ends its track when the receiver stops.
        try:
            while True:
                await remote.recv()
        except MediaStreamError:
            pass
        self.close()


class ForwardedTrack(MediaStreamTrack):
    def __init__(self, source: PublishedTrack, kind: str, queue_size: int) -> None:
        super().__init__()
        self.kind = kind
        self.source = source
        self._queue: asyncio.Queue[ForwardedFrame | None] = asyncio.Queue(queue_size)
        self._need_keyframe = kind == "video"
        self._waiting_since = time.monotonic()
        self._current: ForwardedFrame | None = None
        self._paused = False
        # True: when the source ends, the track pauses (its sender's RTP loop stays, to be re-used)
        # instead of ending; ``end()`` still ends it.
        self.reusable = False
        self.frames_sent = 0
        self.frames_dropped = 0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            self.stop()
            raise MediaStreamError
        self._current = item
        self.frames_sent += 1
        return item.packet

    @property
    def waiting_for_keyframe(self) -> bool:
        return self._need_keyframe

    @property
    def audio_level(self) -> int | None:
        """The audio level of the frame last handed to the sender (RFC 6464: 0 loudest, 127 silence)."""
        current = self._current
        return current.audio_level if current is not None else None

    def payloads_for(self, packet: av.Packet) -> list[bytes] | None:
        current = self._current
        return current.payloads() if current is not None and current.packet is packet else None

    def request_keyframe(self) -> None:
        self.source.request_keyframe()

    def stop(self) -> None:
        super().stop()
        self.source._unsubscribe(self)

    def end(self) -> None:
        """Stop forwarding: the sender sending this track finishes its RTP loop."""
        self.source._unsubscribe(self)
        self._end()

    @property
    def paused(self) -> bool:
        return self._paused

    def detach(self) -> None:
        """Stop taking frames from the source but stay live: the sender's RTP loop just waits (an
        inactive m-line kept for re-use, or a paused one). Frames already queued are dropped."""
        self.source._unsubscribe(self)
        self._paused = True
        while not self._queue.empty():
            if self._queue.get_nowait() is None:  # ended meanwhile: stays ended
                self._queue.put_nowait(None)
                return

    def retarget(self, source: PublishedTrack) -> None:
        """Forward ``source`` from now on (same kind), starting at its next keyframe: the same sender,
        SSRC and m-line carry another publisher's track (an m-line re-used), or the same one again
        (resumed after a pause)."""
        if source.kind != self.kind:
            raise ValueError(f"a {self.kind} subscription cannot forward a {source.kind} track")
        self.detach()
        self.source = source
        self._paused = False
        self._need_keyframe, self._waiting_since = self.kind == "video", time.monotonic()
        source._adopt(self)

    def switch(self, source: PublishedTrack) -> None:
        """Take ``source`` as this track's source but stay paused (``resume`` starts it): an m-line
        re-used for another publisher forwards nothing until the subscriber has answered."""
        if source.kind != self.kind:
            raise ValueError(f"a {self.kind} subscription cannot forward a {source.kind} track")
        self.detach()
        self.source = source

    def resume(self) -> None:
        """Forward the source again (from its next keyframe); nothing when it has ended meanwhile."""
        if self._paused and not self.source.closed:
            self.retarget(self.source)

    def restart(self) -> None:
        """The subscriber is (again) ready to decode: start at the newest keyframe already queued (the
        one the subscription asked for, usually), else drop what is queued and wait for a fresh one.
        Keeping it matters: a publisher ignores a second keyframe request that soon after the first
        (browsers: within 300 ms), which would leave the subscriber waiting for the retry a second on."""
        queued: list[ForwardedFrame] = []
        while not self._queue.empty():
            frame = self._queue.get_nowait()
            if frame is None:
                self._queue.put_nowait(None)
                return
            queued.append(frame)
        if self.kind != "video":
            return
        start = next((i for i in range(len(queued) - 1, -1, -1) if queued[i].keyframe), None)
        if start is None:
            self._need_keyframe, self._waiting_since = True, time.monotonic()
            self.source.request_keyframe()
            return
        for frame in queued[start:]:
            self._queue.put_nowait(frame)

    def _offer(self, frame: ForwardedFrame) -> None:
        if self._need_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                if time.monotonic() - self._waiting_since > 1.0:  # the PLI or its keyframe got lost
                    self._waiting_since = time.monotonic()
                    self.source.request_keyframe()
                return
            self._need_keyframe = False
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self._overflow(frame)

    def _overflow(self, frame: ForwardedFrame) -> None:
        if self.kind == "audio":
            self._queue.get_nowait()
            self._queue.put_nowait(frame)
            self.frames_dropped += 1
            return
        # Dropping one video frame breaks every later one up to the next keyframe: drop them all now.
        self.frames_dropped += self._queue.qsize() + 1
        while not self._queue.empty():
            self._queue.get_nowait()
        self._need_keyframe, self._waiting_since = True, time.monotonic()
        self.source.request_keyframe()

    def _end(self) -> None:
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()


class ForwardingPacketizer(Encoder):
    """Stands in for aiortc's encoder on a subscriber's sender: sends the shared RTP payloads."""

    def __init__(self, track: ForwardedTrack) -> None:
        self._track = track
        self._picture_id = 0
        self.bytes_out = 0  # RTP payload bytes handed to the sender (the subscriber's send rate)
        self.on_target_bitrate: Callable[[int], None] | None = None  # REMB (bandwidth.py)
        self._target_bitrate: int | None = None

    @property
    def target_bitrate(self) -> int | None:
        """The subscriber's last REMB naming this sender's SSRC: aiortc sets it on the encoder."""
        return self._target_bitrate

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self._target_bitrate = bitrate
        if self.on_target_bitrate is not None:
            self.on_target_bitrate(bitrate)

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise TypeError("a forwarded track carries encoded packets only; it is never encoded")

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:
        payloads = self._track.payloads_for(packet)
        if payloads is None:  # not the frame the track just handed out: packetize here
            source_codec = self._track.source.codec
            payloads = packetize(source_codec.name.lower() if source_codec else "", bytes(packet),
                                 self._picture_id)
            self._picture_id = (self._picture_id + 1) % (1 << 15)
        self.bytes_out += sum(map(len, payloads))
        return payloads, int(packet.pts)  # pts is already in the codec's RTP clock


def attach(sender: RTCRtpSender, track: ForwardedTrack) -> None:
    """Make ``sender`` forward ``track`` as-is; call right after ``addTrack``/``replaceTrack``."""
    internals.install_packetizer(sender, ForwardingPacketizer(track))
    internals.route_keyframe_requests(sender, track.request_keyframe)
    if track.kind == "audio":  # the publisher's ssrc-audio-level goes on (when negotiated both ways)
        internals.forward_audio_levels(sender, lambda: track.audio_level)


def forward(pc: RTCPeerConnection, source: PublishedTrack, mime_type: str | None = None) -> RTCRtpSender:
    """Add a subscription to ``source`` to ``pc`` (before ``createOffer``): the subscriber is offered
    only the publisher's codec (``mime_type`` when the publisher has not negotiated yet)."""
    track = source.subscribe()
    sender = pc.addTrack(track)
    attach(sender, track)
    mime = source.mime_type() or mime_type
    if mime is not None:
        transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
        caps = RTCRtpSender.getCapabilities(source.kind).codecs
        transceiver.setCodecPreferences(
            [c for c in caps if c.mimeType.lower() == mime.lower()]
            + [c for c in caps if c.name.lower() == "rtx"])
    return sender


def tap(pc: RTCPeerConnection, track: MediaStreamTrack) -> PublishedTrack:
    """``PublishedTrack.tap`` for the receiver of a track from ``pc``'s "track" event."""
    receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
    return PublishedTrack.tap(receiver)
