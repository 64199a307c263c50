"""Local media and the one peer connection with the SFU (docs/signaling.md section 13), with aiortc.

Sources are chosen by a spec string: video ``test`` (a generated test pattern) or ``FORMAT:DEVICE``
(ffmpeg's input format and device, e.g. ``v4l2:/dev/video0``); audio ``tone`` (a 440 Hz sine),
``silence`` or ``FORMAT:DEVICE`` (``pulse:default``, ``alsa:hw:0``).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import av
from aiortc import (AudioStreamTrack, MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection,
                    RTCRtpSender, RTCSessionDescription, VideoStreamTrack)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy
from attrs import frozen

VIDEO_CLOCK = 90000
# The test pattern's colour bars, left to right (RGB): white, yellow, cyan, green, magenta, red, blue.
BARS = ((235, 235, 235), (235, 235, 16), (16, 235, 235), (16, 235, 16), (235, 16, 235), (235, 16, 16), (16, 16, 235))


def pattern_rows(width: int, height: int, counter: int) -> bytes:
    """Packed RGB24 of one test-pattern picture: colour bars over the top two thirds, a dark strip
    below with a white square that moves one step per frame (so a frozen picture shows)."""
    bars_h = height * 2 // 3
    bar_row = b"".join(bytes(BARS[x * len(BARS) // width]) for x in range(width))
    side = max(8, height // 8)
    x0 = (counter * 4) % max(1, width - side)
    dark = b"\x28\x28\x28"
    strip_row = dark * width
    square_row = dark * x0 + b"\xff\xff\xff" * side + dark * (width - x0 - side)
    top = (height - bars_h - side) // 2
    rows = [bar_row] * bars_h
    rows += [square_row if top <= r < top + side else strip_row for r in range(height - bars_h)]
    return b"".join(rows)


def fill_rgb(frame: av.VideoFrame, packed: bytes) -> None:
    plane = frame.planes[0]
    row = frame.width * 3
    if plane.line_size == row:
        plane.update(packed)
    else:
        pad = bytes(plane.line_size - row)
        plane.update(b"".join(packed[r * row:(r + 1) * row] + pad for r in range(frame.height)))


class TestPatternTrack(VideoStreamTrack):
    """A camera stand-in for machines without one: colour bars and a moving square, ``fps`` a second."""

    __test__ = False  # not a pytest class

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.counter = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self.counter / self.fps - time.monotonic()))
        frame = av.VideoFrame(self.width, self.height, "rgb24")
        fill_rgb(frame, pattern_rows(self.width, self.height, self.counter))
        frame.pts = self.counter * VIDEO_CLOCK // self.fps
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.counter += 1
        return frame


class ToneTrack(AudioStreamTrack):
    """A microphone stand-in: a 440 Hz sine at about -12 dBFS (aiortc's AudioStreamTrack is silence)."""

    _second = b"".join(int(8000 * math.sin(2 * math.pi * 440 * i / 48000)).to_bytes(2, "little", signed=True)
                       for i in range(48000))

    def __init__(self) -> None:
        super().__init__()
        self._at = 0

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        size = frame.planes[0].buffer_size
        data = (self._second[self._at:] + self._second)[:size]
        self._at = (self._at + size) % len(self._second)
        frame.planes[0].update(data)
        return frame


def video_source(spec: str) -> MediaStreamTrack:
    if spec == "test":
        return TestPatternTrack()
    fmt, _, device = spec.partition(":")
    from aiortc.contrib.media import MediaPlayer

    player = MediaPlayer(device, format=fmt, options={"framerate": "15", "video_size": "640x480"})
    if player.video is None:
        raise ValueError(f"{spec}: no video")
    return player.video


def audio_source(spec: str) -> MediaStreamTrack:
    if spec == "tone":
        return ToneTrack()
    if spec == "silence":
        return AudioStreamTrack()
    fmt, _, device = spec.partition(":")
    from aiortc.contrib.media import MediaPlayer

    player = MediaPlayer(device, format=fmt)
    if player.audio is None:
        raise ValueError(f"{spec}: no audio")
    return player.audio


def rgb_image(frame: av.VideoFrame) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per line, RGB24 bytes) of a decoded frame, for a QImage or a check."""
    rgb = frame if frame.format.name == "rgb24" else frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    return rgb.width, rgb.height, plane.line_size, bytes(plane)


def use_host_addresses(addresses: list[str]) -> None:
    """Makes aioice gather candidates on exactly these addresses (it skips loopback, so on a host whose
    only interface is 127.0.0.1 it gathers none; docs/signaling.md section 13.1)."""
    import aioice.ice

    v4 = [a for a in addresses if ":" not in a]
    v6 = [a for a in addresses if ":" in a]
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: (v4 if use_ipv4 else []) + (v6 if use_ipv6 else [])


# --- SDP: only what a client must read from the SFU's offers --------------------------------------

@frozen
class Section:
    mid: str
    kind: str
    direction: str
    publisher: str | None  # first token of a=msid


def sections(sdp: str) -> list[Section]:
    out = []
    for block in sdp.replace("\r\n", "\n").split("\nm=")[1:]:
        lines = block.split("\n")
        kind = lines[0].split(" ", 1)[0]
        mid, direction, publisher = "", "sendrecv", None
        for line in lines[1:]:
            if line.startswith("a=mid:"):
                mid = line[6:].strip()
            elif line.startswith("a=msid:"):
                publisher = line[7:].split(" ")[0].strip()
            elif line.strip() in ("a=sendonly", "a=recvonly", "a=sendrecv", "a=inactive"):
                direction = line.strip()[2:]
        out.append(Section(mid, kind, direction, publisher))
    return out


# --- the connection with the SFU ---------------------------------------------------------------------

SendSdp = Callable[[str, str], Awaitable[None]]  # (offer|answer, sdp)
TrackAdded = Callable[[str, str, MediaStreamTrack], None]  # (publisher user id, kind, track)
TrackGone = Callable[[str, str], None]  # (publisher user id, kind)


class SfuLink:
    """One RTCPeerConnection with the SFU: the client offers once (``start``), then only answers the
    SFU's offers (``on_description``), reporting each forwarded track by publisher (a=msid by mid) as it
    appears and goes (``inactive``). ``set_audio(False)`` stops sending audio without renegotiating."""

    def __init__(self, ice_servers: list[dict[str, Any]], send: SendSdp, track_added: TrackAdded,
                 track_gone: TrackGone) -> None:
        servers = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                   for s in ice_servers]
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self._send, self._added, self._gone = send, track_added, track_gone
        self._lock = asyncio.Lock()
        self._live: dict[str, tuple[str, str]] = {}  # mid -> (publisher, kind) of forwarded tracks
        self._own_mids: set[str] = set()
        self._audio: MediaStreamTrack | None = None
        self._audio_sender: RTCRtpSender | None = None
        self.offers_answered = 0

    async def start(self, audio: MediaStreamTrack, video: MediaStreamTrack) -> None:
        self._audio = audio
        for track, mimes in ((audio, ("audio/opus",)), (video, ("video/vp8", "video/rtx"))):
            transceiver = self.pc.addTransceiver(track, direction="sendrecv")
            caps = RTCRtpSender.getCapabilities(track.kind).codecs
            transceiver.setCodecPreferences([c for m in mimes for c in caps if c.mimeType.lower() == m])
            if track.kind == "audio":
                self._audio_sender = transceiver.sender
        async with self._lock:
            await self.pc.setLocalDescription(await self.pc.createOffer())  # gathers ICE before returning
            self._own_mids = {t.mid for t in self.pc.getTransceivers() if t.mid is not None}
            await self._send("offer", self.pc.localDescription.sdp)

    def set_audio(self, on: bool) -> None:
        if self._audio_sender is not None:
            self._audio_sender.replaceTrack(self._audio if on else None)

    async def on_description(self, kind: str, sdp: str) -> None:
        async with self._lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
            if kind != "offer":
                return
            self._reconcile(sdp)
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            self.offers_answered += 1
            await self._send("answer", self.pc.localDescription.sdp)

    def _reconcile(self, offer: str) -> None:
        receivers = {t.mid: t.receiver for t in self.pc.getTransceivers() if t.mid is not None}
        for section in sections(offer):
            if section.mid in self._own_mids or section.publisher is None:
                continue
            live = section.direction in ("sendonly", "sendrecv")
            if live and section.mid not in self._live and section.mid in receivers:
                self._live[section.mid] = (section.publisher, section.kind)
                self._added(section.publisher, section.kind, receivers[section.mid].track)
            elif not live and section.mid in self._live:
                self._gone(*self._live.pop(section.mid))

    async def close(self) -> None:
        await self.pc.close()
