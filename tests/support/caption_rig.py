"""The captions tap on the real SFU, inside a private network namespace (tests/support/netns.py).

``python -m tests.support.caption_rig`` runs, in one process, ``AiortcMediaServer`` with
``AiortcRoomCaptioner`` (to a FakeSpeech and FakeSink) and two aiortc members: Alice publishes espeak-ng
sentences with short and long pauses, Bob publishes aiortc's silence and receives Alice.  It prints one
RESULT line: what speech-to-text was sent, the captions, the tap's counters and what Bob received."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.netns import allow_loopback_candidates, emit_result

ROOM, ALICE, BOB = ("00000000-0000-4000-8000-0000000000aa", "00000000-0000-4000-8000-00000000a11c",
                    "00000000-0000-4000-8000-000000000b0b")
SCRIPT = ((0, 0.4), (1, 1.5), (2, 1.5))  # (sentence, pause after it): two utterances, as 0.4 s is a short pause
UTTERANCES = 2


def speech_track(pcm_8k: bytes) -> Any:
    from aiortc import AudioStreamTrack

    class Speech(AudioStreamTrack):
        """aiortc's paced 20 ms frames at 8 kHz, filled with ``pcm_8k`` then silence."""
        offset = 0

        async def recv(self) -> Any:
            frame = await super().recv()
            size = frame.planes[0].buffer_size
            chunk = pcm_8k[self.offset:self.offset + size]
            self.offset += size
            frame.planes[0].update(chunk + bytes(size - len(chunk)))
            return frame

    return Speech()


class Member:
    def __init__(self, media: Any, user: str) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.rtcconfiguration import RTCBundlePolicy

        self.media, self.user = media, user
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.received = 0
        self.answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.tasks: list[asyncio.Task[Any]] = []
        self.lock = asyncio.Lock()
        self.pc.on("track", lambda track: self.tasks.append(asyncio.ensure_future(self._consume(track))))

    async def publish(self, track: Any) -> None:
        from aiortc import RTCSessionDescription

        from tests.support.webrtc_rig import connected

        self.pc.addTransceiver(track, direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.media.signal(ROOM, self.user, "offer", {"sdp": self.pc.localDescription.sdp})
        await self.pc.setRemoteDescription(RTCSessionDescription(await asyncio.wait_for(self.answer, 20), "answer"))
        await connected(self.pc)

    def on_signal(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "answer" and not self.answer.done():
            self.answer.set_result(payload["sdp"])
        elif kind == "offer":
            self.tasks.append(asyncio.ensure_future(self._renegotiate(payload["sdp"])))

    async def _renegotiate(self, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        async with self.lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await self.media.signal(ROOM, self.user, "answer", {"sdp": self.pc.localDescription.sdp})

    async def _consume(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                await track.recv()
                self.received += 1
        except MediaStreamError:
            pass

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def main() -> dict[str, Any]:
    from aiortc import AudioStreamTrack

    from adapters.webrtc.caption_tap import AiortcRoomCaptioner
    from adapters.webrtc.sfu import AiortcMediaServer
    from confero_contracts.speech import SENTENCES, concat, espeak, silence
    from tests.support.caption_fakes import FakeSink, FakeSpeech

    members: dict[str, Member] = {}

    class Signals:
        async def to_member(self, room_id: str, user_id: str, kind: str, payload: Any) -> None:
            members[user_id].on_signal(kind, dict(payload))

        async def active_speaker(self, room_id: str, user_id: str) -> None:
            pass

    media = AiortcMediaServer(Signals())
    speech, sink = FakeSpeech(), FakeSink()
    captioner = AiortcRoomCaptioner(media, speech, sink)  # type: ignore[arg-type]
    await captioner.start(ROOM)  # type: ignore[arg-type]

    script = [p for i, pause in SCRIPT for p in (espeak(SENTENCES[i], rate=8000), silence(pause, rate=8000))]
    alice = members[ALICE] = Member(media, ALICE)
    bob = members[BOB] = Member(media, BOB)
    await bob.publish(AudioStreamTrack())
    await alice.publish(speech_track(concat(silence(1.0, rate=8000), *script).samples))
    began = time.monotonic()
    talk_s = 1.0 + sum(c.duration_s for c in script)
    while time.monotonic() - began < talk_s + 3 and len(sink.captions) < UTTERANCES:
        await asyncio.sleep(0.1)
    result = {"streams": [{"speaker": s, "seconds": round(speech.seconds(i), 2)} for i, s in enumerate(speech.speakers)],
              "captions": [{"speaker": c.speaker_id, "text": c.text,
                            "duration_s": (c.end_at - c.start_at).total_seconds()} for c in sink.captions],
              "stats": captioner.stats(), "bob_received": bob.received,
              "said_s": [round(espeak(SENTENCES[i], rate=8000).duration_s, 2) for i, _ in SCRIPT]}
    await captioner.close()
    for m in members.values():
        await m.close()
    await media.close()
    return result


if __name__ == "__main__":
    allow_loopback_candidates()
    emit_result(asyncio.run(main()))
