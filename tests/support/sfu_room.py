"""A room of aiortc members around an in-process ``AiortcMediaServer`` (inside a private netns only).

The SFU's signals go straight to the members (no WebSocket): a member offers once, answers every SFU
offer, and files what it receives by the msid the SFU gives the m-line *now* (``<publisher>
<publisher>-<label>``), since a re-used m-line keeps its receiver track while its publisher changes.
Each received RTP packet's ssrc-audio-level is recorded too (read below aiortc's receiver).

- ``ToneTrack``: audio that is loud (a 440 Hz sine at about -12 dBov) while ``loud`` is set, else silent.
- ``small_video(fps)``: a ``MarkedVideoTrack`` of 320x48 pictures (just the marks), cheap to encode.

A member joined ``via`` a ``UdpRelay`` (tests/support/udp_relay.py) reaches the SFU only through it: the
candidates of its SDPs are rewritten to the relay's server side, the SFU's to its client side.  A
decoding member counts the NACKs and PLIs it sends and the retransmissions (RTX) it receives.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from aiortc import AudioStreamTrack, MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy

from adapters.webrtc.assembly import EncodedFrame
from adapters.webrtc.forwarding import PublishedTrack
from adapters.webrtc.negotiation_input import NegotiationLimits
from adapters.webrtc.sdp import msid_of, sections
from adapters.webrtc.sfu import AiortcMediaServer
from domain.shared.ids import MeetingId, UserId
from tests.support.netns import require_private_netns
from tests.support.udp_relay import UdpRelay, rewrite_candidates
from tests.support.webrtc_rig import MarkedVideoTrack, marked_frame, read_marks

log = logging.getLogger(__name__)
TONE_RATE = 48000
ROOM = MeetingId("00000000-0000-4000-8000-0000000000aa")


class ToneTrack(AudioStreamTrack):
    RATE = TONE_RATE
    SECOND = b"".join(int(8000 * math.sin(2 * math.pi * 440 * i / TONE_RATE)).to_bytes(2, "little", signed=True)
                      for i in range(TONE_RATE))  # 440 whole periods: loops without a click

    def __init__(self, loud: bool = False) -> None:
        super().__init__()
        self.loud = loud
        self._phase = 0

    async def recv(self) -> Any:
        frame = await super().recv()
        if self.loud:
            start = self._phase % self.RATE * 2
            samples = (self.SECOND + self.SECOND)[start:start + frame.samples * 2]
            size = frame.planes[0].buffer_size
            frame.planes[0].update(samples[:size] + bytes(max(0, size - len(samples))))
        self._phase += frame.samples
        return frame


def small_video(fps: int) -> MarkedVideoTrack:
    return MarkedVideoTrack(fps, functools.partial(marked_frame, height=48))


class Signals:
    """MediaSignals for the in-process room: each signal goes to the member's handler."""

    def __init__(self) -> None:
        self.members: dict[UserId, RoomMember] = {}
        self.speakers: list[UserId] = []

    async def to_member(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        member = self.members.get(user_id)
        if member is not None:
            member.spawn(member.on_signal(kind, dict(payload)))

    async def active_speaker(self, room_id: MeetingId, user_id: UserId) -> None:
        self.speakers.append(user_id)


class Room:
    def __init__(self, *, last_n: int = 0, max_sections: int = 24) -> None:
        require_private_netns()
        self.signals = Signals()
        self.joined = 0
        limits = NegotiationLimits(max_sections_per_connection=max_sections, max_sections_per_member=16)
        self.sfu = AiortcMediaServer(self.signals, (), limits=limits, last_n=last_n, speaker_hold=0.5)

    async def join(self, name: str, *tracks: MediaStreamTrack, decode: bool = True,
                   via: UdpRelay | None = None) -> RoomMember:
        self.joined += 1
        member = RoomMember(self, UserId(f"00000000-0000-4000-8000-{self.joined:012d}"), name, decode, via)
        self.signals.members[member.user_id] = member
        await member.publish(*tracks)
        return member

    async def leave(self, member: RoomMember) -> None:
        await self.sfu.remove(ROOM, member.user_id)
        await member.close()
        self.signals.members.pop(member.user_id, None)

    async def close(self) -> None:
        for member in list(self.signals.members.values()):
            await member.close()
        await self.sfu.close()


class RoomMember:
    def __init__(self, room: Room, user_id: UserId, name: str, decode: bool = True,
                 via: UdpRelay | None = None) -> None:
        """``decode=False``: received media is counted as encoded frames (taken like the SFU takes
        them), never decoded; video frames then have counter -1 and delay 0."""
        self.room, self.user_id, self.name, self.decode, self.via = room, user_id, name, decode, via
        self.audio_frames: dict[str, int] = {}  # msid track -> audio frames decoded
        self.rtcp_sent = {"nack": 0, "pli": 0}  # feedback packets sent by the receivers (decoding members)
        self.rtx_received = 0  # retransmitted video packets that arrived (decoding members)
        self.video_packets = 0  # video RTP packets that arrived (decoding members)
        self._msids: dict[str, str] = {}  # mid -> msid of the remote description now
        self._rtx_pts: set[int] = set()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", lambda: log.info("%s: connection %s", name, self.pc.connectionState))
        self.video: dict[str, list[tuple[int, int, float]]] = {}  # msid track ("<user>-video") -> frames
        self.audio_levels: dict[str, list[int | None]] = {}  # msid track -> level of each RTP packet
        self.sfu_offers = 0
        self.last_offer = ""
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def publish(self, *tracks: MediaStreamTrack) -> None:
        self.keyframe_requests = 0
        for track in tracks:
            sender = self.pc.addTransceiver(track, direction="sendrecv").sender
            if track.kind == "video":
                original = sender._send_keyframe

                def counted(original: Any = original) -> None:
                    self.keyframe_requests += 1
                    original()

                sender._send_keyframe = counted
        if not tracks:  # a member that only watches: its one offer must still have a section
            self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.room.sfu.signal(ROOM, self.user_id, "offer", {"sdp": self._outgoing(self.pc.localDescription.sdp)})

    def _outgoing(self, sdp: str) -> str:
        return sdp if self.via is None else rewrite_candidates(sdp, self.via.server_side)[0]

    def _incoming(self, sdp: str) -> str:
        if self.via is None:
            return sdp
        sdp, sfu_addresses = rewrite_candidates(sdp, self.via.client_side)
        if self.via.upstream is None and sfu_addresses:
            self.via.upstream = sfu_addresses[0]
        return sdp

    async def prefer(self, last_n: int | None, pinned: list[UserId] = ()) -> None:  # type: ignore[assignment]
        await self.room.sfu.signal(ROOM, self.user_id, "media_preferences", {"last_n": last_n, "pinned": list(pinned)})

    async def on_signal(self, kind: str, payload: dict[str, Any]) -> None:
        async with self._lock:
            if self.pc.connectionState == "closed":
                return
            sdp = self._incoming(payload["sdp"])
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, kind))
            self._remote(sdp)
            if kind == "offer":
                self.sfu_offers += 1
                self.last_offer = payload["sdp"]
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                answer = self._outgoing(self.pc.localDescription.sdp)
        if kind == "offer":
            await self.room.sfu.signal(ROOM, self.user_id, "answer", {"sdp": answer})

    def label_of(self, receiver: Any) -> str | None:
        """The msid track ("<publisher>-<label>") the SFU gives the receiver's m-line now."""
        transceiver = next((t for t in self.pc.getTransceivers() if t.receiver is receiver), None)
        if transceiver is None or transceiver.mid is None:
            return None
        msid = self._msids.get(transceiver.mid, "")
        return msid.split(" ")[-1] if msid else None

    def _on_track(self, track: MediaStreamTrack) -> None:
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        if not self.decode:
            PublishedTrack.tap(receiver).observers.append(lambda frame: self._on_encoded(receiver, frame))
            return
        if track.kind == "audio":
            handle = receiver._handle_rtp_packet  # tests may look below aiortc (adapters may not)

            async def levels(packet: Any, arrival_time_ms: int) -> None:
                label = self.label_of(receiver)
                if label is not None:
                    level = packet.extensions.audio_level
                    self.audio_levels.setdefault(label, []).append(None if level is None else level[1])
                await handle(packet, arrival_time_ms)

            receiver._handle_rtp_packet = levels
        else:
            self._count_feedback(receiver)
        self.spawn(self._consume(receiver, track))

    def _count_feedback(self, receiver: Any) -> None:
        """Counts the video receiver's NACKs and PLIs, and the RTX packets it gets (below aiortc)."""
        nack, pli, handle = receiver._send_rtcp_nack, receiver._send_rtcp_pli, receiver._handle_rtp_packet

        async def counted_nack(media_ssrc: int, lost: list[int]) -> None:
            self.rtcp_sent["nack"] += 1
            await nack(media_ssrc, lost)

        async def counted_pli(media_ssrc: int) -> None:
            self.rtcp_sent["pli"] += 1
            await pli(media_ssrc)

        async def counted_rtp(packet: Any, arrival_time_ms: int) -> None:
            self.video_packets += 1
            if packet.payload_type in self._rtx_pts:
                self.rtx_received += 1
            await handle(packet, arrival_time_ms)

        receiver._send_rtcp_nack, receiver._send_rtcp_pli = counted_nack, counted_pli
        receiver._handle_rtp_packet = counted_rtp

    def _remote(self, sdp: str) -> None:
        """What label_of and the RTX count read of the remote description just applied: parsed once here
        (aiortc's ``remoteDescription`` serializes the whole SDP on every read)."""
        self._msids = msid_of(sdp)
        self._rtx_pts = {int(pt) for pt in re.findall(r"^a=rtpmap:(\d+) rtx/", sdp, re.MULTILINE)}

    def _on_encoded(self, receiver: Any, frame: EncodedFrame) -> None:
        label = self.label_of(receiver)
        if label is None:
            return
        if receiver.track.kind == "video":
            self.video.setdefault(label, []).append((-1, 0, time.monotonic()))
        else:
            self.audio_levels.setdefault(label, []).append(frame.audio_level)

    async def _consume(self, receiver: Any, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                label = self.label_of(receiver)
                if label is None:
                    continue
                if track.kind != "video":
                    self.audio_frames[label] = self.audio_frames.get(label, 0) + 1
                    continue
                arrival = time.monotonic()
                counter, sent = read_marks(frame)
                self.video.setdefault(label, []).append(
                    (counter, (int(arrival * 1000) - sent) % (1 << 40), arrival))
        except MediaStreamError:
            pass

    def video_from(self, other: RoomMember, since: float = 0.0) -> list[tuple[int, int, float]]:
        return [f for f in self.video.get(f"{other.user_id}-video", []) if f[2] >= since]

    def offer_size(self) -> tuple[int, int]:
        """(characters, m-lines) of the latest SFU offer."""
        return len(self.last_offer), len(sections(self.last_offer)[1]) if self.last_offer else 0

    async def settled(self, timeout: float = 20.0) -> None:
        """The SFU has no offer for this member in flight or pending."""
        peer = self.room.sfu.rooms[ROOM].peers[self.user_id]
        deadline = time.monotonic() + timeout
        while not peer.negotiation_settled or self._lock.locked():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: negotiation not settled: pending "
                                   f"{peer._pending_offer is not None}, dirty {peer._dirty}, "
                                   f"{peer.pc.signalingState}/{peer.pc.connectionState}, "
                                   f"member {self.pc.signalingState}/{self.pc.connectionState}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.pc.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
