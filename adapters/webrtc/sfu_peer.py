"""One participant's single peer connection with the SFU (max-bundle), and its negotiations.

- The participant offers once (its microphone and camera, sendrecv). The SFU answers receiving only
  (its transceivers are created recvonly, with opus / VP8+RTX preferred, before the offer is applied).
- Every other member's track comes in an SFU offer as a new sendonly m-line whose msid is
  ``<publisher> <publisher>-<label>``, the label saying which of the publisher's sections it came
  from (``section_label``: ``audio``, ``video``, and ``screen`` for a second video section); a departed publisher's m-lines become ``inactive`` and stay
  (never renumbered, never removed) until a new track of the same kind and codec re-uses one: the
  same transceiver, sender and SSRC, ``sendonly`` again with the new publisher's msid, forwarding
  from the subscriber's answer on (so the SDP grows only with the most tracks received at once).
- Last-N (``allow_video``): cameras the room does not choose for this participant stay negotiated
  and send nothing; allowed again, they start at a fresh keyframe. No renegotiation either way.
- A publisher that restarts its connection (docs/signaling.md 13.12) publishes its sections again on
  a new one: ``republished`` points this participant's m-lines of them at the new tracks (same
  transceiver, sender, SSRC, msid; from the next keyframe), so nothing is renegotiated here.
- Bandwidth (``layer_control.py``): every ``LAYER_TICK`` the participant's estimate picks each
  forwarded video's simulcast layer, or pauses it for bandwidth (the same pause as last-N: a camera
  runs only if last-N AND bandwidth allow it).
- At most one SFU offer is in flight; changes meanwhile are coalesced into the next one. An offer
  unanswered for ``resend_after`` seconds is sent again (signals are at-most-once).
- Each SFU offer is rewritten by ``sdp.pin`` to the numbering of the participant's first offer.
- Simulcast (docs/signaling.md 13.10): a section of the participant's offer with ``a=simulcast:send``
  and ``a=rid`` lines (and the rtp-stream-id extmap) is answered with the same rids as ``recv``, in
  this answer and in every SFU offer after it, and its track is tapped layer by layer.
- The connection never grows past ``max_sections`` m-lines (its own and the forwarded ones): a track
  that would need one more is not forwarded to this participant, who keeps everything else, instead
  of an SDP too big for signaling cutting them off (see ``negotiation_input``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from attrs import define

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtcpRrPacket, RtcpSrPacket, unpack_remb_fci

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.assembly import EncodedFrame
from adapters.webrtc.forwarding import ForwardedTrack, PublishedTrack, attach
from adapters.webrtc.layer_control import LayerController
from adapters.webrtc.negotiation_input import NegotiationLimits, check_candidate
from adapters.webrtc.retransmit import RetransmitBudget, sent_before
from adapters.webrtc.sdp import (RID_EXTENSIONS, Numbering, kind_of, pin, publish_bitrates, receive_simulcast,
                                 rid_extensions, sections, simulcast_rids)
from domain.rooms.errors import InvalidSignal
from domain.rooms.layers import PAUSED, TileSize
from domain.rooms.media import ParticipantMediaStats, TrackStats
from domain.shared.ids import UserId

log = logging.getLogger(__name__)
PUBLISHED_CODECS = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}
RESEND_AFTER = 10.0
RESENDS = 3
LAYER_TICK = 0.25
PUBLISH_MAX_BPS = 2_500_000
PUBLISH_START_SHARE = 0.6  # x-google-start-bitrate: this share of the publish ceiling
Send = Callable[[UserId, str, dict[str, Any]], Awaitable[None]]


@define
class Subscription:
    """Another member's track forwarded to this participant on one sendonly m-line."""

    publisher_id: UserId
    source: PublishedTrack
    track: ForwardedTrack
    transceiver: RTCRtpTransceiver
    active: bool = True
    started: float = 0.0
    bandwidth_paused: bool = False  # the subscriber's bandwidth cannot carry it now (layer_control)


def section_label(kind: str, index: int) -> str:
    """The name of a participant's ``index``-th published section of ``kind`` (0-based, in the order
    of its offer): ``audio`` / ``video`` for the first, ``screen`` for the second video section (the
    screen share, docs/signaling.md 13.8), ``<kind>-<n>`` (1-based) for any other."""
    if index == 0:
        return kind
    if kind == "video" and index == 1:
        return "screen"
    return f"{kind}-{index + 1}"


def _mimes(source: PublishedTrack) -> tuple[str, ...]:
    mime = source.mime_type() or ("video/VP8" if source.kind == "video" else "audio/opus")
    return (mime, "video/rtx") if source.kind == "video" else (mime,)


def _preferences(kind: str, mimes: tuple[str, ...]) -> list[Any]:
    caps = RTCRtpSender.getCapabilities(kind).codecs
    return [c for mime in mimes for c in caps if c.mimeType.lower() == mime.lower()]


class SfuPeer:
    def __init__(self, name: str, user_id: UserId, pc: RTCPeerConnection, send: Send,
                 on_audio: Callable[[UserId, EncodedFrame], None], resend_after: float = RESEND_AFTER,
                 max_sections: int = 1000,
                 on_published: Callable[[UserId, PublishedTrack], None] | None = None,
                 layers: LayerController | None = None, layer_tick: float = LAYER_TICK,
                 publish_max_bps: int | None = PUBLISH_MAX_BPS) -> None:
        self.name = name  # "<room>/<user>", for task names and logs
        self.max_sections = max_sections
        self.not_forwarded: set[tuple[UserId, str]] = set()  # tracks refused by max_sections
        self.user_id = user_id
        self.pc = pc
        self._send = send
        self._on_audio = on_audio
        self.on_published = on_published
        self._resend_after = resend_after
        self.published: dict[str, PublishedTrack] = {}  # section_label -> track: "audio", "video", "screen"...
        self.published_at: dict[str, float] = {}
        self.subscriptions: dict[tuple[UserId, str], Subscription] = {}
        self.video_allowed: set[UserId] | None = None  # last-N: cameras forwarded (None: all)
        self.sections_reused = 0
        self._retired_count = 0
        self.numbering: Numbering | None = None
        self.simulcast: dict[str, tuple[str, ...]] = {}  # mid -> rids of the participant's simulcast sections
        # What the participant may publish: a fixed REMB at this (aiortc's delay-based estimate, fooled by
        # a busy event loop, would hold a browser's simulcast to its lowest layer) and, in our SDP, the
        # x-google start/max bitrates of its video sections (``publishing``: their mids). None: aiortc's.
        self.publish_max_bps = publish_max_bps
        self.publishing: set[str] = set()
        self._rid_extension_ids: dict[str, int] = {}
        self.offers_sent = 0
        self._lock = asyncio.Lock()
        self._dirty = False
        self._desired: dict[tuple[UserId, str], PublishedTrack] = {}
        self._pending_offer: str | None = None
        self._awaiting_keyframe: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._negotiator: asyncio.Task[None] | None = None
        self._resender: asyncio.Task[None] | None = None
        self._bytes_seen: dict[object, tuple[float, int]] = {}
        self.closed = False
        self._connected = asyncio.Event()
        # Bandwidth and layers: the room keeps these up to date (pins, speakers, tile sizes).
        self.layers = layers
        self.retransmits = RetransmitBudget()  # after a layer went down: NACKs answered within a budget
        self._tick_soon = False  # a layer control tick is scheduled: receiver reports already make a cut
        self.tile_sizes: Mapping[str, TileSize] = {}
        self.pinned: frozenset[UserId] = frozenset()
        self.speaker_rank: Callable[[UserId], int | None] = lambda _: None
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)
        if layers is not None:
            self._spawn(self._control_layers(layer_tick), f"sfu-layers-{name}")

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self._connected.set()

    # -- the participant's offer -------------------------------------------------------------------

    async def accept_offer(self, sdp: str) -> None:
        async with self._lock:
            publishing: list[RTCRtpTransceiver] = []
            try:
                for section in sections(sdp)[1]:
                    kind = kind_of(section)
                    if kind in PUBLISHED_CODECS:
                        transceiver = self.pc.addTransceiver(kind, direction="recvonly")
                        transceiver.setCodecPreferences(_preferences(kind, PUBLISHED_CODECS[kind]))
                        if kind == "video" and self.publish_max_bps is not None:
                            internals.fix_remb(transceiver.receiver, self.publish_max_bps)
                            publishing.append(transceiver)
                self.numbering = Numbering.from_sdp(sdp)
                offered = {mid: rids for mid, rids in simulcast_rids(sdp).items()
                           if RID_EXTENSIONS[0] in {uri for _, uri in rid_extensions(sdp, mid)}}
                self.simulcast.update(offered)
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
                for transceiver in self.pc.getTransceivers():
                    if transceiver.mid in offered:
                        found = rid_extensions(sdp, transceiver.mid)
                        self._rid_extension_ids.update({uri: i for i, uri in found})
                        internals.add_header_extensions(transceiver, found)
                self.publishing.update(t.mid for t in publishing if t.mid is not None)
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                for transceiver in self.pc.getTransceivers():
                    if transceiver.mid in offered:
                        internals.route_new_ssrcs_by_mid(transceiver.receiver)
            except InvalidSignal:
                raise
            except Exception as exc:  # aiortc raises many types for a bad or unsupported SDP
                raise InvalidSignal(f"the SFU cannot accept this offer: {exc}", field="sdp") from None
            answer = self._publish_bitrates(
                receive_simulcast(self.pc.localDescription.sdp, offered, self._rid_extension_ids))
        await self._send(self.user_id, "answer", {"sdp": answer})

    def _publish_bitrates(self, sdp: str) -> str:
        if self.publish_max_bps is None:
            return sdp
        top = max(1, self.publish_max_bps // 1000)
        return publish_bitrates(sdp, self.publishing, max(1, int(top * PUBLISH_START_SHARE)), top)

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        published = PublishedTrack.tap(transceiver.receiver, rids=self.simulcast.get(transceiver.mid or "", ()))
        # The participant's own transceivers come first (made before any forwarded one), in its offer's order.
        same_kind = [t for t in self.pc.getTransceivers() if t.kind == track.kind]
        index = next((i for i, t in enumerate(same_kind) if t.receiver.track is track), len(self.published))
        key = section_label(track.kind, index)
        while key in self.published:  # never overwrite a published track
            index += 1
            key = section_label(track.kind, index)
        published.label = key
        self.published[key] = published
        self.published_at[key] = time.monotonic()
        if track.kind == "audio":
            published.observers.append(lambda frame: self._on_audio(self.user_id, frame))
        if self.on_published is not None:
            self.on_published(self.user_id, published)

    async def add_candidate(self, candidate: Mapping[str, Any], limits: NegotiationLimits) -> None:
        text = str(candidate.get("candidate", ""))
        if not text:
            return  # end of candidates: aiortc needs no notice
        check_candidate(text, limits)
        try:
            parsed = candidate_from_sdp(text.removeprefix("candidate:"))
            parsed.sdpMid = candidate.get("sdpMid")
            parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
            await self.pc.addIceCandidate(parsed)
        except Exception as exc:
            raise InvalidSignal(f"the SFU cannot use this candidate: {exc}", field="candidate") from None

    # -- the SFU's offers --------------------------------------------------------------------------

    @property
    def negotiation_settled(self) -> bool:
        """No SFU offer in flight, none pending, none being made."""
        return (self._pending_offer is None and not self._dirty
                and (self._negotiator is None or self._negotiator.done()))

    def want_renegotiation(self, desired: Mapping[tuple[UserId, str], PublishedTrack]) -> None:
        """Make the participant's received tracks ``desired`` (coalesced, one offer at a time)."""
        self._desired = dict(desired)
        self._dirty = True
        if not self.closed and (self._negotiator is None or self._negotiator.done()):
            self._negotiator = self._spawn(self._negotiate(), f"sfu-negotiate-{self.name}")

    async def _negotiate(self) -> None:
        # aiortc starts the senders of new m-lines only if DTLS is up when the answer is applied: an
        # offer made while it still connects would leave them silent for good.
        await self._connected.wait()
        async with self._lock:
            if (self.closed or not self._dirty or self._pending_offer is not None or self.numbering is None
                    or self.pc.signalingState != "stable"):
                return
            self._dirty = False
            if not self._apply(self._desired):
                return
            offer = await self.pc.createOffer()
            sdp = pin(offer.sdp, self.numbering, self._msids())
            await self.pc.setLocalDescription(RTCSessionDescription(sdp, "offer"))
            # The participant's simulcast sections stay simulcast (a browser answering an offer without
            # its rids would fall back to one layer).
            self._pending_offer = self._publish_bitrates(receive_simulcast(
                self.pc.localDescription.sdp, self.simulcast, self._rid_extension_ids))
            self.offers_sent += 1
        await self._send(self.user_id, "offer", {"sdp": self._pending_offer})
        self._resender = self._spawn(self._resend(self._pending_offer), f"sfu-resend-{self.name}")

    def _apply(self, desired: Mapping[tuple[UserId, str], PublishedTrack]) -> bool:
        changed = False
        # A publisher's tracks close before the room says it left (SfuRoom.remove): not wanted then.
        desired = {key: source for key, source in desired.items() if not source.closed}
        for key, sub in list(self.subscriptions.items()):
            if sub.active and (key not in desired or desired[key] is not sub.source):
                self._retire(key, sub)
                changed = True
        for key, source in desired.items():
            current = self.subscriptions.get(key)
            if current is not None and current.active:
                continue
            sub = self._reuse(key, source)
            if sub is None:
                if len(self.pc.getTransceivers()) >= self.max_sections:
                    if key not in self.not_forwarded:
                        self.not_forwarded.add(key)
                        log.warning("SFU connection full: a track is not forwarded", extra={
                            "peer": self.name, "publisher": key[0], "max_sections": self.max_sections})
                    continue
                track = source.subscribe()
                track.reusable = True
                transceiver = self.pc.addTransceiver(track, direction="sendonly")
                attach(transceiver.sender, track)
                self._hear_feedback(transceiver.sender, track)
                transceiver.setCodecPreferences(_preferences(source.kind, _mimes(source)))
                sub = Subscription(key[0], source, track, transceiver, started=time.monotonic())
                if not self._allowed(sub):
                    track.detach()  # last-N: the m-line is negotiated, its video waits
            self.not_forwarded.discard(key)
            self.subscriptions[key] = sub
            self._awaiting_keyframe.append(sub)
            changed = True
        return changed

    def _retire(self, key: tuple[UserId, str], sub: Subscription) -> None:
        """The m-line goes inactive and waits, under a key of its own (so its msid stays unique), for
        a new track of its kind and codec to re-use it."""
        sub.active = False
        sub.transceiver.direction = "inactive"
        sub.track.detach()
        self._retired_count += 1
        del self.subscriptions[key]
        self.subscriptions[(key[0], f"{key[1]}@{self._retired_count}")] = sub  # last: re-used last

    def _reuse(self, key: tuple[UserId, str], source: PublishedTrack) -> Subscription | None:
        """The oldest retired m-line of ``source``'s kind and codec, switched to ``source`` (paused until
        the subscriber's answer), or None."""
        mime = (_mimes(source)[0]).lower()
        for old_key, sub in self.subscriptions.items():
            if (not sub.active and sub.source.kind == source.kind
                    and _mimes(sub.source)[0].lower() == mime and sub not in self._awaiting_keyframe):
                del self.subscriptions[old_key]
                sub.track.switch(source)
                sub.transceiver.direction = "sendonly"
                self.sections_reused += 1
                return Subscription(key[0], source, sub.track, sub.transceiver, started=time.monotonic())
        return None

    def republished(self, publisher_id: UserId, published: Mapping[str, PublishedTrack]) -> int:
        """``publisher_id`` restarted its connection (docs/signaling.md 13.12): its sections, published
        again as ``published`` (by label), take the place of the old ones on this participant's m-lines:
        the same transceiver, sender, SSRC and msid, from the new track's next keyframe on, without an
        SFU offer.  A paused m-line (last-N, or re-used and not answered yet) stays paused with its new
        source.  Returns how many m-lines were retargeted; a section with no counterpart of the same
        kind and codec is left to the next renegotiation (which retires it)."""
        moved = 0
        for key, sub in self.subscriptions.items():
            source = published.get(key[1])
            if (key[0] != publisher_id or not sub.active or source is None or source.closed
                    or source.kind != sub.source.kind or _mimes(source)[0].lower() != _mimes(sub.source)[0].lower()):
                continue
            sub.source = source
            if sub.track.paused:
                sub.track.switch(source)
            else:
                sub.track.retarget(source)
            if key in self._desired:
                self._desired[key] = source
            moved += 1
        return moved

    # -- last-N: which forwarded cameras run (no renegotiation) ----------------------------------------

    def _last_n_allows(self, sub: Subscription) -> bool:
        return (self.video_allowed is None or sub.source.kind != "video" or sub.source.label != "video"
                or sub.publisher_id in self.video_allowed)

    def _allowed(self, sub: Subscription) -> bool:
        return self._last_n_allows(sub) and not sub.bandwidth_paused

    def allow_video(self, publishers: set[UserId] | None) -> None:
        """Forward the cameras of ``publishers`` only (None: every camera); the others' m-lines stay
        negotiated and send nothing until allowed again, which starts them at a fresh keyframe. Screen
        shares and audio are never paused."""
        self.video_allowed = None if publishers is None else set(publishers)
        self._apply_pauses()

    def _apply_pauses(self) -> None:
        for sub in self.subscriptions.values():
            if not sub.active or sub in self._awaiting_keyframe:
                continue  # retired, or not answered yet (accept_answer decides)
            if self._allowed(sub):
                sub.track.resume()
            elif not sub.track.paused:
                sub.track.detach()

    def forwarding_video_from(self) -> set[UserId]:
        """Publishers whose camera this participant gets now (active and not paused)."""
        return {s.publisher_id for s in self.subscriptions.values()
                if s.active and s.source.label == "video" and not s.track.paused}

    # -- bandwidth: each forwarded video's layer, or a pause (no renegotiation) ---------------------

    def _hear_feedback(self, sender: RTCRtpSender, track: ForwardedTrack) -> None:
        if self.layers is None:
            return
        estimator = self.layers.estimator

        def observe(packet: Any) -> None:
            if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
                own = internals.sender_ssrc(sender)
                for report in packet.reports:
                    if report.ssrc != own:  # aiortc hands the packet to each sender it names: each its block
                        continue
                    encoder = internals.sender_encoder(sender)
                    sent = (getattr(encoder, "bytes_out", 0), getattr(encoder, "packets_out", 0))
                    estimator.on_receiver_report(report.ssrc, report.highest_sequence, report.packets_lost,
                                                 time.monotonic(), sent)
                if not self._tick_soon and estimator.cut_due(time.monotonic()):  # react now, not at the tick
                    self._tick_soon = True
                    asyncio.get_running_loop().call_soon(self._tick_now)
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                # REMB (aiortc also sets it as the packetizer's target_bitrate, without its SSRCs): a
                # browser sends one for the whole connection, aiortc one per received video stream.
                with contextlib.suppress(ValueError):
                    bitrate, ssrcs = unpack_remb_fci(packet.fci)
                    estimator.on_remb(bitrate, tuple(sorted(ssrcs)))

        internals.observe_rtcp(sender, observe)
        layers = self.layers

        def allow(size: int, timestamp: int) -> bool:
            # The old layer's packets are no use after a switch. The sender's timestamps have an origin of its
            # own: ours = the last one handed out + how far the packet is behind the last one sent (at worst a
            # frame late, the newer for it: the new layer's keyframe is never taken for an old packet).
            stale = sent_before(track.stale_before, track.timestamp_out,
                                internals.sender_last_timestamp(sender), timestamp)
            return self.retransmits.allow(time.monotonic(), layers.estimate_bps or estimator.estimate, size, stale)

        internals.gate_retransmissions(sender, allow)

    def bytes_sent(self, kind: str | None = None) -> int:
        total = 0
        for sub in self.subscriptions.values():
            if kind is None or sub.source.kind == kind:
                total += getattr(internals.sender_encoder(sub.transceiver.sender), "bytes_out", 0)
        return total

    def control_layers(self, now: float) -> None:
        """One tick of the layer controller (see layer_control.py)."""
        if self.layers is None or self.closed:
            return
        videos = [(key, sub) for key, sub in self.subscriptions.items()
                  if sub.active and sub.source.kind == "video" and not sub.source.closed
                  and sub not in self._awaiting_keyframe and self._last_n_allows(sub)]
        before = dict(self.layers.chosen)
        if self.layers.tick(now, videos, self.bytes_sent(), sizes=self.tile_sizes, pinned=self.pinned,
                            speaker_rank=self.speaker_rank, audio_bytes=self.bytes_sent("audio")):
            self._apply_pauses()
        if any(PAUSED != layer < before[key] for key, layer in self.layers.chosen.items() if key in before):
            # A lower layer (not a pause: nothing new is sent then): the old layer's NACKs must not fill the link.
            self.retransmits.turned_down(time.monotonic())
        for sub in self.subscriptions.values():  # last-N paused or retired: bandwidth does not hold it
            if sub.bandwidth_paused and (not sub.active or not self._last_n_allows(sub)):
                sub.bandwidth_paused = False

    def _tick_now(self) -> None:
        self._tick_soon = False
        try:
            self.control_layers(time.monotonic())
        except Exception:
            log.exception("SFU layer control failed", extra={"peer": self.name})

    async def _control_layers(self, tick: float) -> None:
        await self._connected.wait()
        while not self.closed:
            await asyncio.sleep(tick)
            try:
                self.control_layers(time.monotonic())
            except Exception:  # one bad tick must not leave the layers frozen for the connection's life
                log.exception("SFU layer control failed", extra={"peer": self.name})

    def _msids(self) -> dict[str, tuple[str, str]]:
        # Keyed by subscription: a retired m-line of a publisher who came back is ``<label>@<n>``, so no
        # two m-lines ever carry the same msid (browsers refuse such an SDP).
        return {s.track.id: (s.publisher_id, f"{s.publisher_id}-{key[1]}") for key, s in self.subscriptions.items()}

    async def accept_answer(self, sdp: str) -> None:
        async with self._lock:
            if self._pending_offer is None:
                raise InvalidSignal("the SFU is not waiting for an answer", field="sdp")
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            except Exception as exc:
                raise InvalidSignal(f"the SFU cannot accept this answer: {exc}", field="sdp") from None
            self._pending_offer = None
            if self._resender is not None:
                self._resender.cancel()
            for sub in self._awaiting_keyframe:  # the m-line is live now: start it at a fresh keyframe
                if not sub.active:
                    continue
                if not self._allowed(sub):
                    sub.track.detach()
                elif sub.track.paused:
                    sub.track.resume()  # a re-used m-line: its new source starts now
                else:
                    sub.track.restart()
            self._awaiting_keyframe.clear()
        if self._dirty:
            self.want_renegotiation(self._desired)

    async def _resend(self, sdp: str) -> None:
        for _ in range(RESENDS):
            await asyncio.sleep(self._resend_after)
            if self._pending_offer != sdp or self.closed:
                return
            log.info("SFU offer unanswered: sending it again", extra={"peer": self.name})
            await self._send(self.user_id, "offer", {"sdp": sdp})

    # -- teardown and statistics -------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SFU negotiation failed", exc_info=task.exception(), extra={"peer": self.name})

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for sub in self.subscriptions.values():
            sub.track.end()
        for published in self.published.values():
            published.close()
        await self.pc.close()

    def _bitrate(self, key: object, total_bytes: int, since: float) -> int:
        now = time.monotonic()
        then, before = self._bytes_seen.get(key, (since, 0))
        self._bytes_seen[key] = (now, total_bytes)
        return int((total_bytes - before) * 8 / (now - then)) if now > then else 0

    async def stats(self) -> ParticipantMediaStats:
        tracks = []
        for key, published in self.published.items():
            report = await published.receiver.getStats()
            inbound = [s for s in report.values() if s.type == "inbound-rtp"]
            tracks.append(TrackStats(
                publisher_id=self.user_id, kind=published.kind, direction="inbound", active=not self.closed,
                bitrate_bps=self._bitrate(("in", key), published.bytes_in, self.published_at[key]),
                packets=sum(s.packetsReceived for s in inbound), packets_lost=sum(s.packetsLost for s in inbound),
                rtt_ms=None, frames_forwarded=published.frames_in))
        for key, sub in self.subscriptions.items():
            report = await sub.transceiver.sender.getStats()
            outbound = [s for s in report.values() if s.type == "outbound-rtp"]
            remote = [s for s in report.values() if s.type == "remote-inbound-rtp"]
            rtt = [s.roundTripTime for s in remote if s.roundTripTime is not None]
            tracks.append(TrackStats(
                publisher_id=sub.publisher_id, kind=sub.source.kind, direction="outbound", active=sub.active,
                bitrate_bps=self._bitrate(("out", key), sum(s.bytesSent for s in outbound), sub.started),
                packets=sum(s.packetsSent for s in outbound), packets_lost=sum(s.packetsLost for s in remote),
                rtt_ms=round(rtt[0] * 1000, 1) if rtt else None, frames_forwarded=sub.track.frames_sent,
                layer=self._layer_of(key, sub), paused_for_bandwidth=sub.bandwidth_paused))
        return ParticipantMediaStats(user_id=self.user_id, connection_state=self.pc.connectionState,
                                     tracks=tuple(tracks),
                                     bandwidth_bps=self.layers.estimate_bps if self.layers is not None else None)

    def _layer_of(self, key: tuple[UserId, str], sub: Subscription) -> int | None:
        if sub.source.kind != "video" or not sub.active:
            return None
        current = getattr(sub.track, "current_layer", None)  # simulcast: what is being forwarded now
        if current is not None:
            return int(current)
        chosen = self.layers.chosen.get(key) if self.layers is not None else None
        return None if chosen is None or chosen == PAUSED else chosen
