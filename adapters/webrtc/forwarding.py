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

Simulcast (RID, docs/signaling.md 13.10): ``tap(receiver, rids=...)`` demuxes the publisher's layers by
SSRC (learnt from each SSRC's rtp-stream-id; RTX by repaired-rtp-stream-id), one frame assembler and
one NACK generator per layer, keyframe requests to one layer's SSRC. ``PublishedTrack.layers`` describes
them (low to high); each ``ForwardedTrack`` forwards ONE layer (``set_target_layer``), switching only at
a keyframe of the new layer (asked for when the target changes), with its RTP timestamps and VP8
picture ids shifted per layer so the subscriber sees one continuous stream. A track published without
simulcast is one layer; its frames go out exactly as before (no offsets, shared payloads).
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import logging
import time
from collections.abc import Callable
from typing import Any

import av
from attrs import frozen
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.assembly import AudioFrameAssembler, EncodedFrame, SimulcastAssembler, VideoFrameAssembler

logger = logging.getLogger(__name__)

VIDEO_QUEUE = 30  # frames: 2 s at 15 fps
AUDIO_QUEUE = 50  # frames: 1 s of 20 ms Opus
KEYFRAME_REQUEST_INTERVAL = 0.3  # s between two PLIs sent to one publisher (per layer)
LAYER_WINDOW = 1.0  # s over which a layer's bitrate and frame rate are measured
LAYER_TIMEOUT = 1.0  # s without a frame after which a simulcast layer counts as inactive
SWITCH_RETRY = 0.5  # s waiting for the keyframe of a new layer before asking again (browsers drop a PLI
# that comes within 300 ms of their last keyframe of that layer)
PICTURE_IDS = 1 << 15


class ReceiverAlreadyStarted(RuntimeError):
    """The receiver runs already: its jitter buffer can no longer be replaced safely."""


class ForwardedFrame:
    """One publisher frame as every subscriber sees it: created once, never copied per subscriber."""

    __slots__ = ("packet", "keyframe", "codec_name", "picture_id", "audio_level", "layer", "arrival",
                 "_payloads", "_shifted")

    def __init__(self, packet: av.Packet, keyframe: bool, codec_name: str, picture_id: int,
                 audio_level: int | None = None, layer: int = 0, arrival: float = 0.0) -> None:
        self.packet, self.keyframe, self.codec_name, self.picture_id = packet, keyframe, codec_name, picture_id
        self.audio_level = audio_level  # the publisher's ssrc-audio-level (0 loudest .. 127), when it sent one
        self.layer = layer  # simulcast layer (its place in the offer's rid list); 0 without simulcast
        self.arrival = arrival  # time.monotonic() when it was assembled
        self._payloads: list[bytes] | None = None
        self._shifted: dict[int, list[bytes]] | None = None

    def payloads(self) -> list[bytes]:
        if self._payloads is None:
            self._payloads = packetize(self.codec_name, bytes(self.packet), self.picture_id)
        return self._payloads

    def payloads_shifted(self, picture_ids: int) -> list[bytes]:
        """The payloads with the VP8 picture id moved on by ``picture_ids`` (other codecs: as is), cached
        per shift: subscribers that switched layers at the same frame share them."""
        if not picture_ids or self.codec_name != "vp8":
            return self.payloads()
        if self._shifted is None:
            self._shifted = {}
        shifted = self._shifted.get(picture_ids)
        if shifted is None:
            shifted = self._shifted[picture_ids] = with_picture_id(
                self.payloads(), (self.picture_id + picture_ids) % PICTURE_IDS)
        return shifted


def with_picture_id(payloads: list[bytes], picture_id: int) -> list[bytes]:
    """VP8 payloads of ``packetize`` (each with a 4-byte descriptor: X, I, M and a 15-bit picture id)
    with another picture id; only the two descriptor bytes change."""
    pid = bytes((0x80 | picture_id >> 8, picture_id & 0xFF))
    return [p[:2] + pid + p[4:] for p in payloads]


@frozen
class LayerInfo:
    """One simulcast layer of a published video track as last measured (a track published without
    simulcast has one, ``rid`` None)."""

    rid: str | None
    ssrc: int | None
    width: int | None
    height: int | None
    bitrate_bps: int
    fps: float
    active: bool


def vp8_resolution(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 keyframe header (RFC 6386 9.1), or None."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    return (frame[6] | frame[7] << 8) & 0x3FFF, (frame[8] | frame[9] << 8) & 0x3FFF


class _Layer:
    """What the SFU knows of one layer (internal; ``LayerInfo`` is its public snapshot)."""

    __slots__ = ("index", "rid", "ssrc", "width", "height", "pts", "rtp_last", "picture_id", "last_frame",
                 "window_start", "window_bytes", "window_frames", "bitrate_bps", "fps", "active",
                 "last_pli", "keyframe_since_pli")

    def __init__(self, index: int, rid: str | None) -> None:
        self.index, self.rid = index, rid
        self.ssrc: int | None = None
        self.width: int | None = None
        self.height: int | None = None
        self.pts = 0
        self.rtp_last: int | None = None
        self.picture_id = 0
        self.last_frame = -float("inf")
        self.window_start: float | None = None
        self.window_bytes = self.window_frames = 0
        self.bitrate_bps, self.fps = 0, 0.0
        self.active = rid is None  # a single layer is always the one to forward
        self.last_pli = -float("inf")
        self.keyframe_since_pli = True

    def info(self) -> LayerInfo:
        return LayerInfo(self.rid, self.ssrc, self.width, self.height, self.bitrate_bps, self.fps, self.active)


def packetize(codec_name: str, data: bytes, picture_id: int) -> list[bytes]:
    if codec_name == "vp8":
        return internals.vp8_payloads(data, picture_id)
    if codec_name == "h264":
        return internals.h264_payloads(data)
    return [data]  # audio codecs: one frame per RTP packet


class PublishedTrack:
    def __init__(self, receiver: RTCRtpReceiver, *, video_queue: int = VIDEO_QUEUE,
                 audio_queue: int = AUDIO_QUEUE, rids: tuple[str, ...] = ()) -> None:
        self.receiver = receiver
        self.kind: str = receiver.track.kind
        self.id: str = receiver.track.id
        self.label: str = self.kind  # which of the publisher's sections: "audio", "video", "screen"... (sfu_peer)
        self.codec: RTCRtpCodecParameters | None = None
        self._queue_size = video_queue if self.kind == "video" else audio_queue
        self._subscribers: set[ForwardedTrack] = set()
        self._loop = asyncio.get_running_loop()
        self._ssrc: int | None = None
        self.simulcast = len(rids) > 1 and self.kind == "video"
        self._layers = [_Layer(i, r) for i, r in enumerate(rids)] if self.simulcast else [_Layer(0, None)]
        self._order = list(self._layers)  # low -> high
        self._by_rid = {layer.rid: layer for layer in self._layers}
        self._by_ssrc: dict[int, _Layer] = {}
        self._rtx_ssrc: dict[int, int] = {}
        self._checked_layers = 0.0
        self._continues: PublishedTrack | None = None  # the track this one replaces (continue_from)
        self._observed: int | None = None  # simulcast: the layer observers (the recorder) are given
        self._closed = False
        self._pli_tasks: set[asyncio.Task[None]] = set()
        self.frames_in = 0
        self.bytes_in = 0
        self.keyframe_requests = 0
        self.observers: list[Callable[[EncodedFrame], None]] = []  # see every frame (e.g. audio levels)
        self.assembler: VideoFrameAssembler | AudioFrameAssembler | SimulcastAssembler
        if self.simulcast:
            self.assembler = SimulcastAssembler(self._on_frame, self._codec_name, self._by_ssrc)
        elif self.kind == "video":
            self.assembler = VideoFrameAssembler(self._on_frame, self._codec_name)
        else:
            self.assembler = AudioFrameAssembler(self._on_frame)
        self._watch = asyncio.ensure_future(self._close_when_ended(receiver.track))

    @classmethod
    def tap(cls, receiver: RTCRtpReceiver, *, rids: tuple[str, ...] = (), **options: int) -> PublishedTrack:
        """Call from the peer connection's "track" event, before the connection starts receiving.
        ``rids``: the layers of a RID-simulcast section, in the offer's order (sdp.simulcast_rids)."""
        if internals.receiver_started(receiver):
            raise ReceiverAlreadyStarted(receiver.track.id if receiver.track else "?")
        published = cls(receiver, rids=rids, **options)
        internals.replace_jitter_buffer(receiver, published.assembler)
        if published.simulcast:
            published._rtx_ssrc = internals.receive_simulcast(receiver, published._learn)
        return published

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def subscribers(self) -> frozenset[ForwardedTrack]:
        return frozenset(self._subscribers)

    @property
    def layers(self) -> tuple[LayerInfo, ...]:
        """The layers, low to high (by resolution once every layer's is known, else in the offer's
        order); one for a track published without simulcast (always active). A layer that sent nothing
        for ``LAYER_TIMEOUT`` has bitrate and frame rate 0, and is inactive if it is a simulcast layer."""
        self._check_layers(time.monotonic())
        return tuple(layer.info() for layer in self._order)

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
        track._choose_layer()
        if self.kind == "video":
            track.request_keyframe()
        return track

    def _unsubscribe(self, track: ForwardedTrack) -> None:
        self._subscribers.discard(track)

    def _adopt(self, track: ForwardedTrack) -> None:
        """``track`` (a subscription moved here from another source, or resumed) gets this track's
        frames from the next keyframe on."""
        if self._closed:
            raise MediaStreamError("the published track has ended")
        self._subscribers.add(track)
        track._choose_layer()
        if self.kind == "video":
            track.request_keyframe()

    def continue_from(self, previous: PublishedTrack) -> None:
        """This track replaces ``previous`` (the same section of the same member, published again from a
        new connection: an ICE restart, docs/signaling.md 13.12): a subscription retargeted from
        ``previous`` (or from a track ``previous`` itself replaced) to this one goes on as one stream, its
        RTP timestamps and VP8 picture ids shifted to follow the last frame it sent, as at a layer switch."""
        self._continues = previous

    def continues(self, other: PublishedTrack) -> bool:
        """True when this track replaces ``other``, directly or through tracks replaced in between."""
        seen = self._continues
        while seen is not None:
            if seen is other:
                return True
            seen = seen._continues
        return False

    # -- layers ----------------------------------------------------------------------------------

    def _learn(self, packet: Any) -> None:
        """Every RTP packet of a simulcast track, before the receiver handles it: SSRC -> layer from
        rtp-stream-id, RTX SSRC -> media SSRC from repaired-rtp-stream-id (only unknown SSRCs cost)."""
        ssrc = packet.ssrc
        if ssrc in self._by_ssrc or ssrc in self._rtx_ssrc:
            return
        extensions = packet.extensions
        if extensions.rtp_stream_id is not None:
            layer = self._by_rid.get(extensions.rtp_stream_id)
            if layer is not None:
                layer.ssrc, layer.rtp_last = ssrc, None
                self._by_ssrc[ssrc] = layer
        elif extensions.repaired_rtp_stream_id is not None:
            layer = self._by_rid.get(extensions.repaired_rtp_stream_id)
            if layer is not None and layer.ssrc is not None:
                self._rtx_ssrc[ssrc] = layer.ssrc

    def _resolve(self, target: int | None) -> int:
        """The layer (internal index) to forward for a subscriber's target (an index into ``layers``;
        None: the highest): the target when it is active, else the nearest active layer below it,
        else above it, else the target anyway (nothing arrives yet)."""
        order = self._order
        i = len(order) - 1 if target is None else max(0, min(target, len(order) - 1))
        if order[i].active:
            return order[i].index
        for j in [*range(i - 1, -1, -1), *range(i + 1, len(order))]:
            if order[j].active:
                return order[j].index
        return order[i].index

    def layer_position(self, index: int | None) -> int | None:
        """The place in ``layers`` of an internal layer index."""
        if index is None:
            return None
        return next(i for i, layer in enumerate(self._order) if layer.index == index)

    def _check_layers(self, now: float) -> None:
        changed = False
        for layer in self._layers:
            active = now - layer.last_frame < LAYER_TIMEOUT or not self.simulcast  # a single layer: always
            if active != layer.active:
                layer.active, changed = active, True
            if now - layer.last_frame >= LAYER_TIMEOUT:
                layer.bitrate_bps, layer.fps, layer.window_start = 0, 0.0, None
        if changed:
            for track in list(self._subscribers):
                track._choose_layer()

    def _reorder(self) -> None:
        if all(layer.width is not None for layer in self._layers):
            order = sorted(self._layers, key=lambda layer: ((layer.width or 0) * (layer.height or 0), layer.index))
            if order != self._order:
                self._order = order
                for track in list(self._subscribers):
                    track._choose_layer()

    # -- keyframes -------------------------------------------------------------------------------

    def request_keyframe(self, layer: int | None = None) -> None:
        """Send a PLI to the publisher for one layer (internal index; None: the highest active one),
        unless one was sent very recently and no keyframe of that layer came since."""
        if self._closed or self.kind != "video":
            return
        target = self._layers[self._resolve(None) if layer is None else layer]
        ssrc = target.ssrc if self.simulcast else self._ssrc
        if ssrc is None:
            return  # nothing received yet: the stream will start with a keyframe anyway
        now = time.monotonic()
        if not target.keyframe_since_pli and now - target.last_pli < KEYFRAME_REQUEST_INTERVAL:
            return
        target.last_pli, target.keyframe_since_pli = now, False
        self.keyframe_requests += 1
        task = self._loop.create_task(internals.send_pli(self.receiver, ssrc))
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

    def _observed_frame(self, layer: _Layer, frame: EncodedFrame) -> bool:
        """Whether observers get this frame of a simulcast track: they see ONE layer, as one stream (a
        recording cannot mix resolutions and RTP clocks frame by frame), the highest active one; they
        move to another layer only at a keyframe of it (asked for), as a subscriber does."""
        want = self._resolve(None)
        if layer.index == self._observed:
            if want != self._observed:
                self.request_keyframe(want)  # rate-limited per layer
            return True
        if layer.index != want:
            return False
        if not frame.keyframe:
            self.request_keyframe(want)
            return False
        self._observed = want
        return True

    def _codec_name(self, payload_type: int) -> str | None:
        codec = internals.receiver_codec(self.receiver, payload_type)
        return codec.name if codec else None

    def _on_frame(self, frame: EncodedFrame) -> None:
        codec = internals.receiver_codec(self.receiver, frame.payload_type)
        if codec is None or self._closed:
            return
        if self.simulcast:
            layer = self._by_ssrc.get(frame.ssrc)
            if layer is None:
                return
        else:
            layer = self._layers[0]
        self.codec, self._ssrc = codec, frame.ssrc
        self.frames_in += 1
        self.bytes_in += len(frame.data)
        if layer.rtp_last is not None:  # unwrap the 32-bit RTP clock into a growing pts
            layer.pts += (frame.rtp_timestamp - layer.rtp_last + (1 << 31)) % (1 << 32) - (1 << 31)
        layer.rtp_last = frame.rtp_timestamp
        now = time.monotonic()
        if self.kind == "video":
            self._measure(layer, frame, now)
        if self.observers and (not self.simulcast or self._observed_frame(layer, frame)):
            for observe in self.observers:
                observe(frame)
        if not self._subscribers:
            return
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = layer.pts
        packet.time_base = fractions.Fraction(1, codec.clockRate)
        packet.is_keyframe = frame.keyframe
        shared = ForwardedFrame(packet, frame.keyframe, codec.name.lower(), layer.picture_id, frame.audio_level,
                                layer.index, now)
        layer.picture_id = (layer.picture_id + 1) % PICTURE_IDS
        for track in list(self._subscribers):
            track._offer(shared)

    def _measure(self, layer: _Layer, frame: EncodedFrame, now: float) -> None:
        layer.ssrc = frame.ssrc
        layer.last_frame = now
        if frame.keyframe:
            layer.keyframe_since_pli = True
            size = vp8_resolution(frame.data) if self.codec is not None and self.codec.name.lower() == "vp8" \
                else None
            if size is not None and size != (layer.width, layer.height):
                layer.width, layer.height = size
                if self.simulcast:
                    self._reorder()
        if layer.window_start is None:
            layer.window_start, layer.window_bytes, layer.window_frames = now, 0, 0
        layer.window_bytes += len(frame.data)
        layer.window_frames += 1
        elapsed = now - layer.window_start
        if elapsed >= LAYER_WINDOW:
            layer.bitrate_bps = int(layer.window_bytes * 8 / elapsed)
            layer.fps = round(layer.window_frames / elapsed, 1)
            layer.window_start, layer.window_bytes, layer.window_frames = now, 0, 0
        if self.simulcast:
            if not layer.active:
                layer.active = True
                for track in list(self._subscribers):
                    track._choose_layer()
            if now - self._checked_layers > LAYER_TIMEOUT / 2:
                self._checked_layers = now
                self._check_layers(now)

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
        self._target: int | None = None  # wanted layer: index into source.layers, None = the highest
        self._want = 0  # the layer to forward (internal index), resolved from the target
        self._layer: int | None = None  # the layer being forwarded (None: waiting for a first keyframe)
        self._switch_since = 0.0
        self._last: ForwardedFrame | None = None  # the last frame queued
        # (RTP timestamp, picture id) shift of the layer queued last (None: no switch since the start)...
        self._next_shift: tuple[int, int] | None = None
        # ...of the frame handed out last, and the queued frames where it changes (layer switches)
        self._shift: tuple[int, int] | None = None
        self._switches: collections.deque[tuple[ForwardedFrame, tuple[int, int]]] = collections.deque()
        self._continuing = False  # retargeted to a track that replaces its source: the next start shifts
        self._drop_old = False  # an urgent switch down: the old layer's frames are dropped until it happens
        # An RTP timestamp (ours, shifted) before which what was sent is no use to the subscriber any more:
        # the first frame of the layer last switched to, or what was handed out before an urgent switch
        self.stale_before: int | None = None
        self.layer_switches = 0
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
        if self._switches and self._switches[0][0] is item:
            self._shift = self._switches.popleft()[1]
            self.stale_before = self.timestamp_out
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
        rtp = self.rtp_for(packet)
        return rtp[0] if rtp is not None else None

    def rtp_for(self, packet: av.Packet) -> tuple[list[bytes], int] | None:
        """(payloads, RTP timestamp) of the frame last handed out, when it is ``packet``: shifted by its
        layer's offsets after a simulcast layer switch, else the shared payloads and the source's clock."""
        current = self._current
        if current is None or current.packet is not packet:
            return None
        shift = self._shift
        if shift is None:
            return current.payloads(), int(packet.pts)
        return current.payloads_shifted(shift[1]), (int(packet.pts) + shift[0]) % (1 << 32)

    @property
    def timestamp_out(self) -> int | None:
        """The RTP timestamp (shifted, before the sender adds its origin) of the frame handed out last."""
        current = self._current
        if current is None:
            return None
        return (int(current.packet.pts) + (self._shift[0] if self._shift is not None else 0)) % (1 << 32)

    def request_keyframe(self) -> None:
        self.source.request_keyframe(self._want)

    # -- simulcast layers ------------------------------------------------------------------------

    @property
    def target_layer(self) -> int | None:
        """The layer asked for with ``set_target_layer`` (index into ``source.layers``; None: highest)."""
        return self._target

    @property
    def current_layer(self) -> int | None:
        """The place in ``source.layers`` of the layer being forwarded (None before the first keyframe)."""
        return self.source.layer_position(self._layer) if self._layer is not None else None

    def set_target_layer(self, index: int | None, urgent: bool = False) -> None:
        """Forward this layer of the source (index into ``source.layers``, low to high; None: the highest).
        The switch happens at the new layer's next keyframe (asked for now); until then the current layer
        goes on -- unless ``urgent`` and the new layer is lower: then the current layer stops now (what
        is queued of it too), so that on a link that is dropping packets the queue ahead of the new
        layer's keyframe drains while the keyframe is on its way (its loss would cost the subscriber a
        keyframe request of its own, seconds later). An inactive target is replaced by the nearest active
        layer below (else above) it."""
        self._target = index
        self._choose_layer()
        if urgent and self._layer is not None and self._want < self._layer and self.kind == "video":
            self._drop_old = True
            if (out := self.timestamp_out) is not None:  # resending the old layer meanwhile would only delay the new
                self.stale_before = (out + 1) % (1 << 32)
            while not self._queue.empty():
                frame = self._queue.get_nowait()
                if frame is None:
                    self._queue.put_nowait(None)
                    return
                self.frames_dropped += 1
            self._flushed()

    def _choose_layer(self) -> None:
        want = self.source._resolve(self._target)
        if want == self._want:
            return
        self._want, self._switch_since = want, time.monotonic()
        if not self._paused and self.kind == "video":
            self.source.request_keyframe(want)

    def _start_layer(self, frame: ForwardedFrame) -> None:
        """``frame`` (a keyframe of the wanted layer) starts it: past a switch, its RTP timestamps and
        picture ids are shifted to follow on from the last frame queued."""
        last = self._last
        if last is not None and (last.layer != frame.layer or self._continuing):
            ts, pid = self._next_shift or (0, 0)
            gap = max(1, round((frame.arrival - last.arrival) * frame.packet.time_base.denominator
                               / frame.packet.time_base.numerator))
            self._next_shift = (int(last.packet.pts) + ts + gap - int(frame.packet.pts),
                                (last.picture_id + pid + 1 - frame.picture_id) % PICTURE_IDS)
            self._switches.append((frame, self._next_shift))
            if not self._continuing:
                self.layer_switches += 1
        self._layer, self._continuing, self._drop_old = frame.layer, False, False
        self._need_keyframe = False

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
        self._flushed()

    def _flushed(self) -> None:
        """The queue was emptied: the next frame queued goes out with the shift of its layer."""
        self._switches.clear()
        self._shift = self._next_shift

    def retarget(self, source: PublishedTrack) -> None:
        """Forward ``source`` from now on (same kind), starting at its next keyframe: the same sender,
        SSRC and m-line carry another publisher's track (an m-line re-used), or the same one again
        (resumed after a pause)."""
        if source.kind != self.kind:
            raise ValueError(f"a {self.kind} subscription cannot forward a {source.kind} track")
        self.detach()
        self._set_source(source)
        self._paused = False
        self._need_keyframe, self._waiting_since = self.kind == "video", time.monotonic()
        self._layer = None
        source._adopt(self)

    def _set_source(self, source: PublishedTrack) -> None:
        if source is not self.source and source.continues(self.source):  # the same section, restarted
            self._want, self._continuing = -1, self._last is not None
        elif source is not self.source:  # another publisher: its clock starts afresh, as without simulcast
            self._last, self._next_shift, self._want, self._continuing = None, None, -1, False
            if self._queue.empty():
                self._flushed()
        self.source = source

    def switch(self, source: PublishedTrack) -> None:
        """Take ``source`` as this track's source but stay paused (``resume`` starts it): an m-line
        re-used for another publisher forwards nothing until the subscriber has answered."""
        if source.kind != self.kind:
            raise ValueError(f"a {self.kind} subscription cannot forward a {source.kind} track")
        self.detach()
        self._set_source(source)

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
        for frame in queued[:start]:  # dropped: a switch among them applies from here on
            if self._switches and self._switches[0][0] is frame:
                self._shift = self._switches.popleft()[1]
        if start is None:
            self._need_keyframe, self._waiting_since = True, time.monotonic()
            self.request_keyframe()
            return
        for frame in queued[start:]:
            self._queue.put_nowait(frame)

    def _offer(self, frame: ForwardedFrame) -> None:
        if frame.layer != self._layer:
            if frame.layer != self._want:
                return  # another simulcast layer
            if not frame.keyframe:
                if self._layer is None:
                    self.frames_dropped += 1
                    if time.monotonic() - self._waiting_since > 1.0:  # the PLI or its keyframe got lost
                        self._waiting_since = time.monotonic()
                        self.request_keyframe()
                elif time.monotonic() - self._switch_since > SWITCH_RETRY:
                    self._switch_since = time.monotonic()
                    self.request_keyframe()
                return
            self._start_layer(frame)
        elif self._drop_old and self._want != self._layer:
            self.frames_dropped += 1  # (the wanted layer's frames ask its keyframe again, above)
            return
        elif self._need_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                if time.monotonic() - self._waiting_since > 1.0:  # the PLI or its keyframe got lost
                    self._waiting_since = time.monotonic()
                    self.request_keyframe()
                return
            self._need_keyframe = False
        self._last = frame
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
        self._flushed()
        self._need_keyframe, self._waiting_since = True, time.monotonic()
        self.request_keyframe()

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
        self.packets_out = 0  # and their packets (bytes per packet: what a receiver report's count means)
        # The subscriber's last REMB naming this sender's SSRC, as aiortc sets it on an encoder. The
        # bandwidth estimate reads REMB from the RTCP itself (sfu_peer), which also names its SSRCs.
        self.target_bitrate: int | None = None

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise TypeError("a forwarded track carries encoded packets only; it is never encoded")

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:
        rtp = self._track.rtp_for(packet)
        if rtp is None:  # not the frame the track just handed out: packetize here
            source_codec = self._track.source.codec
            payloads = packetize(source_codec.name.lower() if source_codec else "", bytes(packet),
                                 self._picture_id)
            self._picture_id = (self._picture_id + 1) % (1 << 15)
            rtp = payloads, int(packet.pts)
        self.bytes_out += sum(map(len, rtp[0]))
        self.packets_out += len(rtp[0])
        return rtp  # pts is already in the codec's RTP clock (shifted after a layer switch)


def attach(sender: RTCRtpSender, track: ForwardedTrack) -> None:
    """Make ``sender`` forward ``track`` as-is; call right after ``addTrack``/``replaceTrack``."""
    internals.install_packetizer(sender, ForwardingPacketizer(track))
    internals.send_with_templates(sender)  # same packets as aiortc's send loop, less Python per packet
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


def tap(pc: RTCPeerConnection, track: MediaStreamTrack, rids: tuple[str, ...] = ()) -> PublishedTrack:
    """``PublishedTrack.tap`` for the receiver of a track from ``pc``'s "track" event."""
    receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
    return PublishedTrack.tap(receiver, rids=rids)
