"""The live-caption meeting rig (issue 12), shared by tests/integration/test_captions_end_to_end.py and
bench/captions.py: the all-in-one as a child process with a stdin hook (how often the speech recogniser
ran, the process's CPU time), a meeting member that keeps the ``caption`` frames it receives and can
publish one audio track, the host's captions switch, and the wait for captions of played speech.

Everything here runs inside the private network namespace (tests/support/netns.py).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from typing import Any

MODULE = "tests.support.caption_meeting"
CAPTIONS_WAIT_S = 45.0  # after the last sentence: windows queue behind others on two cores


# --- the app, as a child of the scenario (inside the namespace) ----------------------------------

async def run_app(port: int) -> None:
    from aiohttp import web

    from adapters.inference.models import ModelSet
    from runners.serve import composed
    from runners.settings import Settings
    from runners.web.app import create_app

    calls = {"transcribe": 0}
    transcribe = ModelSet.transcribe

    def counted(self: Any, *args: Any, **kw: Any) -> Any:
        calls["transcribe"] += 1
        return transcribe(self, *args, **kw)

    ModelSet.transcribe = counted  # type: ignore[method-assign]
    settings = Settings.from_env({**os.environ, "APP_PORT": str(port)})
    async with composed(settings) as (_, services):
        runner = web.AppRunner(create_app(services, settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("READY", flush=True)
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).strip():
            if line == b"quit":
                break
            gc.collect()
            print(json.dumps({**calls, "cpu_s": time.process_time(), "at": time.monotonic()}), flush=True)
        await runner.cleanup()
        print(json.dumps({**calls, "cpu_s": time.process_time(), "at": time.monotonic()}), flush=True)


def caption_app(port: int, **env: str) -> Any:
    """The all-in-one (``env`` added to its environment), started by ``await app.start()``."""
    from tests.integration.test_sfu_meeting import App

    class CaptionApp(App):
        async def start(self) -> None:
            full = {**os.environ, "APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_LEVEL": "WARNING",
                    "APP_LOG_FORMAT": "text", "APP_JWT_SECRET": "captions-e2e-test-secret-0123456789abcdef",
                    "APP_AI_SUBMISSIONS_PER_MINUTE": "100000", **env}
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", MODULE, str(self.port), env=full,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            assert self.proc.stdout is not None
            line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
            assert line.strip() == b"READY", line

        async def transcribe_calls(self) -> int:
            return int((await self.ask("calls"))["transcribe"])

        async def cpu(self) -> tuple[float, float]:
            """(the app's CPU seconds so far, its monotonic clock)."""
            got = await self.ask("cpu")
            return float(got["cpu_s"]), float(got["at"])

    return CaptionApp(port)


# --- a member who keeps the captions it receives --------------------------------------------------

def listener(name: str, app: Any, session: Any) -> Any:
    from tests.integration.test_sfu_meeting import SFU, Member

    class Listener(Member):
        def __init__(self) -> None:
            super().__init__(name, app, session)
            self.captions: list[dict[str, Any]] = []  # every caption frame's data, with "at" (monotonic)
            self.track: Any = None

        async def _read(self) -> None:
            from runners.signaling.protocol import check_server

            async for msg in self.ws:
                message = json.loads(msg.data)
                assert check_server(message) == [], message
                data = message["data"]
                if message["type"] in ("offer", "answer") and data.get("from") == SFU:
                    self._tasks.append(asyncio.ensure_future(self._negotiate(message["type"], data)))
                elif message["type"] == "caption":
                    self.captions.append({**data, "at": time.monotonic()})
                elif message["type"] == "active_speaker":
                    self.speakers.append(data["user_id"])
                elif message["type"] == "error":
                    raise AssertionError(f"{self.name} got {message}")
                else:
                    self.inbox.append(message)

        async def publish_audio(self, track: Any) -> None:
            """Audio only (video would cost the two cores the recogniser needs)."""
            from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
            from aiortc.rtcconfiguration import RTCBundlePolicy

            from tests.integration.test_sfu_meeting import chromium_numbering
            from tests.support.netns import require_private_netns
            from tests.support.webrtc_rig import ReceivedMedia

            require_private_netns()
            self.track = track
            self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))

            @self.pc.on("track")
            def on_track(remote: Any) -> None:
                media = self.media[remote.id] = ReceivedMedia()
                self._tasks.append(asyncio.ensure_future(media.consume(remote)))

            transceiver = self.pc.addTransceiver(track, direction="sendrecv")
            caps = RTCRtpSender.getCapabilities("audio").codecs
            transceiver.setCodecPreferences([c for c in caps if c.mimeType.lower() == "audio/opus"])
            offer = await self.pc.createOffer()
            await self.pc.setLocalDescription(RTCSessionDescription(chromium_numbering(offer.sdp), "offer"))
            await self.send("offer", {"room_id": self.room_id, "to": SFU, "sdp": self.pc.localDescription.sdp})

        def audio_from(self, other: Any) -> int:
            media = self.media.get(f"{other.user_id}-audio")
            return media.audio_frames if media is not None else 0

        async def hearing(self, *others: Any, timeout: float = 20) -> None:
            deadline = time.monotonic() + timeout
            while not all(self.audio_from(o) > 10 for o in others):
                assert time.monotonic() < deadline, f"{self.name} gets no audio from {[o.name for o in others]}"
                await asyncio.sleep(0.05)

        def finals(self, speaker: Any, since: float = 0.0) -> list[dict[str, Any]]:
            return [c for c in self.captions if c["final"] and c["speaker_id"] == speaker.user_id and c["at"] >= since]

    return Listener()


# --- the host's switch (docs/signaling.md, host actions) ------------------------------------------

async def set_captions(host: Any, room: str, on: bool) -> None:
    status, body = await host.http("POST", f"/api/v1/meetings/{room}/captions/{'on' if on else 'off'}")
    assert status == 200, (status, body)


async def captions_state(member: Any, on: bool, available: bool = True, timeout: float = 20) -> dict[str, Any]:
    """The next ``captions`` frame saying captions are ``on`` and ``available``."""
    return (await member.next("captions", where=lambda d: d["on"] is on and d["available"] is available,
                              timeout=timeout))["data"]


# --- phases ---------------------------------------------------------------------------------------

async def captioned(listener: Any, plays: list[tuple[Any, Any]], since: float) -> list[dict[str, Any]]:
    """Waits until ``listener`` holds a final caption for every sentence of every playback (or the
    wait ends); returns each playback's score, with its speaker's name."""
    from tests.support.caption_speech import score

    for _, played in plays:
        await played.finished.wait()
    deadline = time.monotonic() + CAPTIONS_WAIT_S
    while True:
        scores = [{"speaker": who.name, **score(played, listener.finals(who, since))} for who, played in plays]
        if all(s["captioned"] for sc in scores for s in sc["sentences"]) or time.monotonic() > deadline:
            await asyncio.sleep(1.0)  # a late window of the same sentences would count against the WER
            return [{"speaker": who.name, **score(played, listener.finals(who, since))} for who, played in plays]
        await asyncio.sleep(0.1)


def misattributed(listener: Any, plays: list[tuple[Any, Any]], since: float) -> list[dict[str, Any]]:
    """Final captions since ``since`` whose words belong to another speaker's script of the phase."""
    from confero_contracts.speech import words

    vocab = {who.user_id: {w for s in p.speech.sentences for w in words(s.text)} for who, p in plays}
    wrong = []
    for c in listener.captions:
        if not c["final"] or c["at"] < since or c["speaker_id"] not in vocab:
            continue
        said = set(words(c["text"]))
        own = len(said & vocab[c["speaker_id"]])
        others = max((len(said & v) for k, v in vocab.items() if k != c["speaker_id"]), default=0)
        if others > own:
            wrong.append(c)
    return wrong



if __name__ == "__main__":
    from tests.support.netns import allow_loopback_candidates

    allow_loopback_candidates()
    asyncio.run(run_app(int(sys.argv[1])))
