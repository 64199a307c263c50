"""A recording SFU in its own process, for tests and benchmarks inside a private network namespace.

``python -m tests.support.recording_rig DIR`` runs ``AiortcMediaServer`` with ``AiortcRoomRecorder``
over a directory blob store at DIR, driven by JSON lines on stdin; its replies and the SFU's own
signals (``{"event": "signal", ...}``) come on stdout.  ``RecordingSfu`` is the client side and
``MeetingMember`` an aiortc participant that publishes marked video and a tone and answers the
SFU's offers.  Killing the process (``kill()``) is how the crash tests crash it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.netns import allow_loopback_candidates, require_private_netns

ROOM = "00000000-0000-4000-8000-0000000000aa"


def file_dict(file: Any) -> dict[str, Any]:
    return {"key": file.key, "user_id": file.user_id, "size": file.size, "duration_s": file.duration_s,
            "started_at": file.started_at.isoformat(), "ended_at": file.ended_at.isoformat(),
            "has_video": file.has_video, "has_audio": file.has_audio}


class _Signals:
    async def to_member(self, room_id: str, user_id: str, kind: str, payload: Any) -> None:
        print(json.dumps({"event": "signal", "user": user_id, "kind": kind, "payload": dict(payload)}), flush=True)

    async def active_speaker(self, room_id: str, user_id: str) -> None:
        pass


async def serve(directory: Path, upload_interval: float) -> None:
    from adapters.webrtc.recorder import AiortcRoomRecorder
    from adapters.webrtc.sfu import AiortcMediaServer
    from adapters.localfs.blobs import LocalDirectoryBlobStore

    media = AiortcMediaServer(_Signals())
    recorder = AiortcRoomRecorder(media, LocalDirectoryBlobStore(directory), upload_interval=upload_interval)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def handle(req: dict[str, Any]) -> dict[str, Any]:
        op = req["op"]
        if op == "signal":
            await media.signal(req["room"], req["user"], req["kind"], req["payload"])
        elif op == "remove":
            await media.remove(req["room"], req["user"])
        elif op == "start":
            await recorder.start(req["recording"], req["room"], req["prefix"])
        elif op == "stop":
            return {"files": [file_dict(f) for f in await recorder.stop(req["recording"])]}
        elif op == "recover":
            return {"files": [file_dict(f) for f in await recorder.recover(req["recording"], req["prefix"])]}
        elif op == "stats":
            times = os.times()
            return {"cpu_s": times.user + times.system, **recorder.stats()}
        return {}

    async def run(req: dict[str, Any]) -> None:
        try:
            reply = {"id": req["id"], **await handle(req)}
        except Exception as exc:  # reported to the client, which fails the run
            reply = {"id": req["id"], "error": repr(exc)}
        print(json.dumps(reply), flush=True)

    tasks = set()
    while line := await reader.readline():
        req = json.loads(line)
        if req["op"] == "quit":
            break
        task = asyncio.ensure_future(run(req))  # signals and stops must not wait for each other
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    await recorder.close()
    await media.close()


class RecordingSfu:
    def __init__(self, directory: Path, upload_interval: float = 2.0) -> None:
        self.directory = directory
        self.upload_interval = upload_interval
        self.proc: asyncio.subprocess.Process | None = None
        self.members: dict[str, MeetingMember] = {}
        self._next = 0
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RecordingSfu:
        require_private_netns()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.recording_rig", str(self.directory), str(self.upload_interval),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=dict(os.environ),
            limit=16 * 1024 * 1024)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        if self.proc.returncode is None:
            self.proc.stdin.write(b'{"op": "quit"}\n')
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no finishing, no trailer
        await self.proc.wait()

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            message = json.loads(line)
            if message.get("event") == "signal":
                member = self.members.get(message["user"])
                if member is not None:
                    member.on_signal(message["kind"], message["payload"])
            elif message.get("id") in self._replies:
                self._replies.pop(message["id"]).set_result(message)

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self._next += 1
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[self._next] = reply
        self.proc.stdin.write(json.dumps({"op": op, "id": self._next, **fields}).encode() + b"\n")
        message = await asyncio.wait_for(reply, 60)
        if "error" in message:
            raise RuntimeError(f"recording SFU {op}: {message['error']}")
        return message


class MeetingMember:
    """An aiortc participant: one connection, publishes marked video and a tone, receives the others."""

    def __init__(self, sfu: RecordingSfu, user_id: str, fps: int = 15) -> None:
        self.sfu, self.user_id, self.fps = sfu, user_id, fps
        self.pc: Any = None
        self.video: Any = None
        self.connected_at: float | None = None
        self.received = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self._lock = asyncio.Lock()
        sfu.members[user_id] = self

    async def publish(self) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from aiortc.rtcconfiguration import RTCBundlePolicy

        from tests.integration.test_sfu_meeting import ToneTrack
        from tests.support.webrtc_rig import MarkedVideoTrack, connected

        require_private_netns()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._consume(track))))
        self.video = MarkedVideoTrack(self.fps)
        for track in (ToneTrack.make(), self.video):
            self.pc.addTransceiver(track, direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        await self.sfu.call("signal", room=ROOM, user=self.user_id, kind="offer",
                            payload={"sdp": self.pc.localDescription.sdp})
        await self.pc.setRemoteDescription(RTCSessionDescription(await asyncio.wait_for(self._answer, 20), "answer"))
        await connected(self.pc)
        self.connected_at = time.monotonic()

    async def restart(self) -> None:
        """An ICE restart (docs/signaling.md 13.12): a new connection whose offer says ``restart``, then the
        old one closed.  aiortc ends a sender's track when its connection closes, so the new connection
        gets new tracks; the video's counters and frame clock go on from the old one's, as a browser's
        camera does."""
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from aiortc.rtcconfiguration import RTCBundlePolicy

        from tests.integration.test_sfu_meeting import ToneTrack
        from tests.support.webrtc_rig import MarkedVideoTrack, connected

        old, before = self.pc, self.video

        class Continuing(MarkedVideoTrack):
            async def recv(self) -> Any:
                if self._start is None:  # the camera's next frame: the old track stopped counting (or soon will)
                    self.counter, self._start = before.counter, before._start
                return await super().recv()

        self.video = Continuing(self.fps)
        tracks = [ToneTrack.make(), self.video]
        async with self._lock:
            self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
            self.pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._consume(track))))
            for track in tracks:
                self.pc.addTransceiver(track, direction="sendrecv")
            await self.pc.setLocalDescription(await self.pc.createOffer())
            self._answer = asyncio.get_running_loop().create_future()
            await self.sfu.call("signal", room=ROOM, user=self.user_id, kind="offer",
                                payload={"sdp": self.pc.localDescription.sdp, "restart": True})
            await self.pc.setRemoteDescription(RTCSessionDescription(await asyncio.wait_for(self._answer, 20),
                                                                     "answer"))
        await old.close()
        await connected(self.pc)

    def on_signal(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "answer" and not self._answer.done():
            self._answer.set_result(payload["sdp"])
        elif kind == "offer":
            self._tasks.append(asyncio.ensure_future(self._renegotiate(payload["sdp"])))

    async def _renegotiate(self, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        async with self._lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await self.sfu.call("signal", room=ROOM, user=self.user_id, kind="answer",
                                payload={"sdp": self.pc.localDescription.sdp})

    async def _consume(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                await track.recv()
                self.received += 1
        except MediaStreamError:
            pass

    async def leave(self) -> float:
        """The member leaves (the SFU removes it); returns when, on this clock."""
        await self.sfu.call("remove", room=ROOM, user=self.user_id)
        left = time.monotonic()
        await self.close()
        return left

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


if __name__ == "__main__":
    allow_loopback_candidates()
    asyncio.run(serve(Path(sys.argv[1]), float(sys.argv[2])))
