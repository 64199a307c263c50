"""Synthetic media and an SFU process for WebRTC tests and benchmarks (inside a private netns only).

- ``MarkedVideoTrack``: 320x240 frames at a fixed rate carrying a frame counter (row 0) and the
  send time in ms of CLOCK_MONOTONIC (rows 1-2), as 16x16 black/white blocks that survive VP8.
- ``python -m tests.support.webrtc_rig sfu --mode forward|relay``: an SFU in its own process,
  driven by JSON lines on stdin/stdout; ``forward`` uses adapters.webrtc, ``relay`` aiortc's
  MediaRelay (decode + re-encode). It counts every aiortc get_encoder/get_decoder call.
- ``SfuProcess``: the client side of that protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import sys
import time
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from tests.support.netns import allow_loopback_candidates, command, require_private_netns

WIDTH, HEIGHT, BLOCK = 320, 240, 16
BITS_PER_ROW = WIDTH // BLOCK  # 20
VIDEO_CLOCK = 90000


def peer_connection() -> RTCPeerConnection:
    require_private_netns()
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def now_ms() -> int:
    return int(time.monotonic() * 1000)


def _block_row(value: int) -> bytes:
    line = b"".join((b"\xeb" if value >> bit & 1 else b"\x10") * BLOCK for bit in range(BITS_PER_ROW))
    return line * BLOCK


def fill_planes(frame: av.VideoFrame, luma: bytes, chroma: bytes) -> None:
    """Writes packed yuv420p planes into a frame whose rows may be padded to a stride."""
    for index, (plane, data) in enumerate(zip(frame.planes, (luma, chroma, chroma))):
        stride = plane.line_size
        width = frame.width if index == 0 else frame.width // 2
        if stride == width:
            plane.update(data)
        else:
            plane.update(b"".join(data[r * width:(r + 1) * width] + bytes(stride - width)
                                  for r in range(len(data) // width)))


def marked_frame(counter: int, sent_ms: int, width: int = WIDTH, height: int = HEIGHT,
                 below: bytes | None = None) -> av.VideoFrame:
    """The marks in the top-left 320x48 (what read_marks reads); ``below`` is the luma under them
    (flat grey when None), so benchmarks can choose how hard the picture is to encode."""
    frame = av.VideoFrame(width, height, "yuv420p")
    pad = b"\x80" * (width - WIDTH)
    rows = (_block_row(counter), _block_row(sent_ms & 0xFFFFF), _block_row(sent_ms >> 20 & 0xFFFFF))
    marks = b"".join(row[i * WIDTH:(i + 1) * WIDTH] + pad for row in rows for i in range(BLOCK))
    rest = below if below is not None else b"\x80" * (width * (height - 3 * BLOCK))
    fill_planes(frame, marks + rest, b"\x80" * (width * height // 4))
    return frame


def read_marks(frame: av.VideoFrame) -> tuple[int, int]:
    """(counter, sent_ms modulo 2**40) drawn by marked_frame."""
    plane = frame.planes[0] if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p").planes[0]
    luma, stride = bytes(plane), plane.line_size

    def row(r: int) -> int:
        y = r * BLOCK + BLOCK // 2
        return sum(1 << bit for bit in range(BITS_PER_ROW) if luma[y * stride + bit * BLOCK + BLOCK // 2] > 128)

    return row(0), row(1) | row(2) << 20


class MarkedVideoTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, fps: int = 15, make_frame: Any = marked_frame) -> None:
        super().__init__()
        self.fps = fps
        self.counter = 0
        self._make_frame = make_frame  # (counter, sent_ms) -> av.VideoFrame
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self.counter / self.fps - time.monotonic()))
        frame = self._make_frame(self.counter, now_ms())
        frame.pts = self.counter * VIDEO_CLOCK // self.fps
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.counter += 1
        return frame


class ReceivedMedia:
    """What one subscriber decoded: (counter, delay_ms, arrival) per video frame, audio frame count."""

    def __init__(self) -> None:
        self.video: list[tuple[int, int, float]] = []
        self.audio_frames = 0
        self.audio_first: float | None = None
        self.audio_last: float | None = None
        self.last_frame: av.VideoFrame | None = None  # the latest decoded picture, to look at

    async def consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                arrival = time.monotonic()
                if track.kind == "video":
                    self.last_frame = frame
                    counter, sent = read_marks(frame)
                    self.video.append((counter, (int(arrival * 1000) - sent) % (1 << 40), arrival))
                else:
                    self.audio_frames += 1
                    self.audio_first = self.audio_first or arrival
                    self.audio_last = arrival
        except MediaStreamError:
            pass

    def summary(self, since: float = 0.0) -> dict[str, Any]:
        video = [v for v in self.video if v[2] >= since]
        span = video[-1][2] - video[0][2] if len(video) > 1 else 0.0
        audio_span = (self.audio_last or 0) - (self.audio_first or 0)
        return {"counters": [v[0] for v in video], "delays_ms": [v[1] for v in video],
                "fps": (len(video) - 1) / span if span else 0.0,
                "audio_fps": (self.audio_frames - 1) / audio_span if audio_span else 0.0}


async def connected(pc: RTCPeerConnection, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
            raise RuntimeError(f"peer connection {pc.connectionState}")
        await asyncio.sleep(0.05)


# --- the SFU process ------------------------------------------------------------------------------

class SfuServer:
    def __init__(self, mode: str) -> None:
        from aiortc.contrib.media import MediaRelay

        self.mode = mode
        self.relay = MediaRelay()
        self.published: dict[str, list[Any]] = {}
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.senders: list[Any] = []
        self.codec_calls = {"get_encoder": 0, "get_decoder": 0}
        self._count_codec_calls()
        from adapters.webrtc.observed import count_nacks

        count_nacks()  # confero_sfu_nack_packets_total, as the SFU of a served process counts them

    def _count_codec_calls(self) -> None:
        import aiortc.rtcrtpreceiver
        import aiortc.rtcrtpsender

        for module, name in ((aiortc.rtcrtpsender, "get_encoder"), (aiortc.rtcrtpreceiver, "get_decoder")):
            original = getattr(module, name)

            def counted(codec: Any, _original: Any = original, _name: str = name) -> Any:
                self.codec_calls[_name] += 1
                return _original(codec)

            setattr(module, name, counted)

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        return await getattr(self, "op_" + req["op"])(req)

    async def op_publish(self, req: dict[str, Any]) -> dict[str, Any]:
        from adapters.webrtc import tap

        pc = self.pcs[req["peer"]] = peer_connection()
        tracks = self.published[req["peer"]] = []

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            tracks.append(tap(pc, track) if self.mode == "forward" else track)

        await pc.setRemoteDescription(RTCSessionDescription(req["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return {"sdp": pc.localDescription.sdp}

    async def op_subscribe(self, req: dict[str, Any]) -> dict[str, Any]:
        from adapters.webrtc import forward

        pc = self.pcs[req["peer"]] = peer_connection()
        for source in self.published[req["publisher"]]:
            if self.mode == "forward":
                self.senders.append(forward(pc, source, "video/VP8" if source.kind == "video" else "audio/opus"))
            else:
                self.senders.append(pc.addTrack(self.relay.subscribe(source)))
        await pc.setLocalDescription(await pc.createOffer())
        return {"sdp": pc.localDescription.sdp}

    async def op_answer(self, req: dict[str, Any]) -> dict[str, Any]:
        await self.pcs[req["peer"]].setRemoteDescription(RTCSessionDescription(req["sdp"], "answer"))
        return {}

    async def op_stats(self, req: dict[str, Any]) -> dict[str, Any]:
        from prometheus_client import REGISTRY

        from adapters.webrtc import aiortc_internals

        times = os.times()
        published = [p for tracks in self.published.values() for p in tracks if hasattr(p, "assembler")]
        return {"cpu_s": times.user + times.system, "at": time.monotonic(), **self.codec_calls,
                "sender_encoders": sorted({type(aiortc_internals.sender_encoder(s)).__name__ for s in self.senders}),
                "keyframe_requests": sum(p.keyframe_requests for p in published),
                "frames_in": sum(p.frames_in for p in published),
                "holes_skipped": sum(getattr(p.assembler, "holes_skipped", 0) for p in published),
                "loss_keyframe_requests": sum(getattr(p.assembler, "keyframe_requests", 0) for p in published),
                "subscriber_drops": sum(t.frames_dropped for p in published for t in p.subscribers),
                "nacks": {d: REGISTRY.get_sample_value("confero_sfu_nack_packets_total", {"direction": d})
                          for d in ("sent", "received")}}

    async def op_drop_video(self, req: dict[str, Any]) -> dict[str, Any]:
        """Test hook: lose RTP packets of published video on the way into the SFU."""
        every, retransmissions = req["every"], req["retransmissions"]
        for tracks in self.published.values():
            for source in tracks:
                receiver = source.receiver if hasattr(source, "receiver") else None
                if receiver is not None and source.kind == "video":
                    receiver._handle_rtp_packet = _lossy(receiver._handle_rtp_packet, every, retransmissions)
        return {}

    async def serve(self) -> None:
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            req = json.loads(line)
            if req["op"] == "quit":
                break
            try:
                reply = {"id": req["id"], **await self.handle(req)}
            except Exception as exc:  # reported to the client, which fails the run
                reply = {"id": req["id"], "error": repr(exc)}
            print(json.dumps(reply), flush=True)
        for pc in self.pcs.values():
            await pc.close()


def _lossy(handle: Any, every: int, retransmissions: bool) -> Any:
    seen: set[int] = set()

    async def lossy(packet: Any, arrival_time_ms: int) -> None:
        is_rtx = packet.payload_type % 2 == 0  # aiortc's dynamic PTs: media odd, its RTX even
        key = packet.sequence_number
        if not is_rtx and key % every == 0 and (retransmissions or key not in seen):
            seen.add(key)
            return
        if is_rtx and retransmissions:
            return
        await handle(packet, arrival_time_ms)

    return lossy


class SfuProcess:
    """Starts the SFU process (in the caller's namespace) and talks to it."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._proc: asyncio.subprocess.Process | None = None
        self._next_id = 0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> SfuProcess:
        require_private_netns()
        argv = command("tests.support.webrtc_rig", "sfu", "--mode", self.mode)[6:]  # no second unshare
        self._proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=dict(os.environ))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(b'{"op": "quit"}\n')
        try:
            await asyncio.wait_for(self._proc.wait(), 10)
        except asyncio.TimeoutError:
            self._proc.kill()

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
        async with self._lock:
            self._next_id += 1
            self._proc.stdin.write(json.dumps({"op": op, "id": self._next_id, **fields}).encode() + b"\n")
            reply = json.loads(await asyncio.wait_for(self._proc.stdout.readline(), 30))
        if "error" in reply:
            raise RuntimeError(f"SFU {op}: {reply['error']}")
        return reply

    async def publish(self, peer: str, *tracks: MediaStreamTrack) -> RTCPeerConnection:
        pc = peer_connection()
        for track in tracks:
            pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        reply = await self.call("publish", peer=peer, sdp=pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        await connected(pc)
        return pc

    async def subscribe(self, peer: str, publisher: str, media: ReceivedMedia) -> RTCPeerConnection:
        pc = peer_connection()
        consumers: list[asyncio.Task[None]] = []
        pc.on("track", lambda track: consumers.append(asyncio.ensure_future(media.consume(track))))
        reply = await self.call("subscribe", peer=peer, publisher=publisher)
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.call("answer", peer=peer, sdp=pc.localDescription.sdp)
        await connected(pc)
        return pc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["sfu"])
    parser.add_argument("--mode", choices=["forward", "relay"], default="forward")
    args = parser.parse_args()
    allow_loopback_candidates()
    asyncio.run(SfuServer(args.mode).serve())


if __name__ == "__main__":
    main()
