"""An aiortc room member negotiating with the SFU as docs/signaling.md section 13 says, for tests inside a
private network namespace (tests/support/netns.py): one peer connection, one client offer, an answer to
each SFU offer, and on ``media_reset`` (13.7) the old connection closed and a new one offered with fresh
tracks.  It counts what it receives per connection (``generation``), so a test can tell media that came
back after a reset from media before it.

Transport-free: ``send(kind, payload)`` carries the member's offer/answer to the SFU (a MediaServer's
``signal``, or a signaling socket: ``over_socket``), and the SFU's frames are handed to ``on_signal``
(``follow_socket`` does that for a socket).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.webrtc_rig import connected

Send = Callable[[str, dict[str, Any]], Awaitable[None]]
SFU_PEER_ID = "00000000-0000-4000-8000-00000000f00d"


def tone_and_marks() -> list[Any]:
    """A fresh audio track (aiortc's silence) and marked video track for each connection."""
    from aiortc import AudioStreamTrack

    from tests.support.webrtc_rig import MarkedVideoTrack

    return [AudioStreamTrack(), MarkedVideoTrack(fps=15)]


class SfuMember:
    def __init__(self, user_id: str, send: Send, tracks: Callable[[], list[Any]] = tone_and_marks,
                 connect_timeout: float = 20.0) -> None:
        self.user_id, self.send, self.tracks, self.connect_timeout = user_id, send, tracks, connect_timeout
        self.pc: Any = None
        self.generation = 0
        self.resets: list[tuple[str, float]] = []  # (reason, monotonic time it arrived)
        self.frames: dict[int, dict[str, int]] = {}  # generation -> kind -> frames received
        self.first_frame: dict[int, float] = {}  # generation -> when its first video frame arrived
        self.video_starts: dict[int, list[float]] = {}  # generation -> when each video track's first frame came
        self._answer: asyncio.Future[str] | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reset_task: asyncio.Task[None] | None = None

    async def join(self, restart: bool = False) -> None:
        """A new peer connection with fresh tracks and its one offer (13.1); returns once connected.
        ``restart``: the offer restarts the current connection in place (13.12)."""
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from aiortc.rtcconfiguration import RTCBundlePolicy

        async with self._lock:
            self.generation += 1
            generation = self.generation
            pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
            pc.on("track", lambda track: self._spawn(self._consume(track, generation)))
            for track in self.tracks():
                pc.addTransceiver(track, direction="sendrecv")
            await pc.setLocalDescription(await pc.createOffer())
            self._answer = asyncio.get_running_loop().create_future()
            await self.send("offer", {"sdp": pc.localDescription.sdp, **({"restart": True} if restart else {})})
            sdp = await asyncio.wait_for(self._answer, self.connect_timeout)
            await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        await connected(pc, self.connect_timeout)

    def on_signal(self, kind: str, payload: dict[str, Any]) -> None:
        """A frame from the SFU: ``answer``, ``offer``, ``ice_candidate`` (ignored: aiortc's SDP carries
        its candidates) or ``media_reset``."""
        if kind == "answer" and self._answer is not None and not self._answer.done():
            self._answer.set_result(payload["sdp"])
        elif kind == "offer":
            self._spawn(self._renegotiate(payload["sdp"], self.generation))
        elif kind == "media_reset":
            self.resets.append((payload.get("reason", ""), time.monotonic()))
            if self._reset_task is None or self._reset_task.done():
                self._reset_task = self._spawn(self.reset())

    async def reset(self) -> None:
        """What a client does on media_reset (13.7): close the connection, offer from a new one."""
        old = self.pc
        if old is not None:
            await old.close()
        await self.join()

    async def restart(self) -> None:
        """What a client does after a network change (13.12): offer from a new connection marked
        ``restart``, then close the old one (it can no longer reach the SFU)."""
        old = self.pc
        await self.join(restart=True)
        if old is not None:
            await old.close()

    def frames_in(self, generation: int, kind: str = "video") -> int:
        return self.frames.get(generation, {}).get(kind, 0)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _renegotiate(self, sdp: str, generation: int) -> None:
        from aiortc import RTCSessionDescription

        async with self._lock:
            if generation != self.generation:
                return  # an offer for a connection already closed
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await self.send("answer", {"sdp": self.pc.localDescription.sdp})

    async def _consume(self, track: Any, generation: int) -> None:
        from aiortc.mediastreams import MediaStreamError

        counts = self.frames.setdefault(generation, {})
        started = False
        try:
            while True:
                await track.recv()
                counts[track.kind] = counts.get(track.kind, 0) + 1
                if track.kind == "video" and not started:
                    started = True
                    self.first_frame.setdefault(generation, time.monotonic())
                    self.video_starts.setdefault(generation, []).append(time.monotonic())
        except MediaStreamError:
            pass

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def over_socket(client: Any, room_id: str) -> Send:
    """``send`` for a member on a signaling socket (tests/support/signaling_client.SignalingClient)."""

    async def send(kind: str, payload: dict[str, Any]) -> None:
        await client.send(kind, {"room_id": room_id, "to": SFU_PEER_ID, **payload})
    return send


async def follow_socket(member: SfuMember, client: Any) -> None:
    """Hands the SFU's frames and media_reset arriving on ``client`` to ``member`` (run it as a task);
    other frames stay in the client's inbox."""
    while True:
        message = await client.next(lambda m: m["type"] == "media_reset" or (
            m["type"] in ("offer", "answer", "ice_candidate") and m["data"].get("from") == SFU_PEER_ID),
            timeout=3600)
        member.on_signal(message["type"], message["data"])
