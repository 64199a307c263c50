"""Live captions end to end (issue 12): the all-in-one with its in-process speech-to-text, aiortc members
publishing espeak-ng speech with a known text (tests/support/caption_speech.py), and other members
receiving the ``caption`` frames over signaling once the host turned captions on.

One meeting, in phases: ann alone says three sentences; then bob and ann speak in turn; then both at
once; then the host turns captions off and ann speaks on: no further speech-to-text call.  Afterwards
the transcript endpoint returns what the members saw, in JSON, WebVTT and SRT.

Quality bound: the final captions' WER may exceed the offline WER of the same sentences (one
``transcribe`` call per sentence at 16 kHz, no codec: the best segmentation there is) by at most
``WER_SLACK`` = 0.06, i.e. about two words in the 35 each phase holds.  The live path differs from
the baseline by the Opus round trip, the 48 -> 16 kHz resampling and the pause-cut windows with the
previous text as prompt; Whisper tiny on synthetic speech flips a word now and then on such changes,
while what this test is for, a lost, cut or doubled window, costs a whole sentence (8-11 words, 25
points and more).  The issue's goal (within 1 point) is measured, not asserted, by bench/captions.py.

Like tests/integration/test_sfu_meeting.py (whose member client it extends), pytest re-runs this
module under ``unshare -n``; the app is a child of that process (``... app PORT``) with a stdin hook
that reports how many times the speech recogniser ran.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import sys
import time
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_captions_end_to_end"
WER_SLACK = 0.06
CAPTIONS_WAIT_S = 45.0  # after the last sentence: the windows queued behind others on two cores


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
            print(json.dumps(calls), flush=True)
        await runner.cleanup()


def caption_app(port: int, **env: str) -> Any:
    from tests.integration.test_sfu_meeting import App

    class CaptionApp(App):
        async def start(self) -> None:
            full = {**os.environ, "APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_LEVEL": "WARNING",
                    "APP_LOG_FORMAT": "text", "APP_JWT_SECRET": "captions-e2e-test-secret-0123456789abcdef",
                    "APP_AI_SUBMISSIONS_PER_MINUTE": "100000", **env}
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", MODULE, "app", str(self.port), env=full,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            assert self.proc.stdout is not None
            line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
            assert line.strip() == b"READY", line

        async def transcribe_calls(self) -> int:
            return int((await self.ask("calls"))["transcribe"])

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


async def scenario(result: dict[str, Any]) -> None:
    import aiohttp
    from aiortc import AudioStreamTrack

    from tests.support.caption_speech import make_track, offline_baseline, script

    speeches = {"alone": [script("ann", range(0, 3))],
                "in_turn": [script("bob", range(0, 2)), script("ann", range(3, 4))],
                "overlapping": [script("ann", range(4, 6)), script("bob", range(2, 4))],
                "off": [script("ann", range(0, 2))]}
    result["offline"] = {phase: await offline_baseline(s) for phase, s in speeches.items() if phase != "off"}

    app = caption_app(18890)
    await app.start()
    try:
        async with aiohttp.ClientSession() as session:
            ann, bob, cat = members = [listener(n, app, session) for n in ("ann", "bob", "cat")]
            try:
                for m in members:
                    await m.sign_up()
                _, meeting = await ann.http("POST", "/api/v1/meetings", json={"title": "Captioned standup"})
                room = meeting["id"]
                result["ids"] = {m.name: m.user_id for m in members}
                for m in members:
                    await m.connect()
                    await m.join(room)
                await ann.publish_audio(make_track())
                await bob.publish_audio(make_track())
                await cat.publish_audio(AudioStreamTrack())
                await cat.hearing(ann, bob)
                await ann.hearing(bob)

                result["calls_before_on"] = await app.transcribe_calls()
                await set_captions(ann, room, True)
                result["state_on"] = {m.name: await captions_state(m, True) for m in members}

                who = {"ann": ann, "bob": bob}
                phases: dict[str, Any] = {}
                for phase in ("alone", "in_turn", "overlapping"):
                    since = time.monotonic()
                    plays = []
                    if phase == "in_turn":
                        first, second = speeches[phase]
                        plays.append((who[first.speaker], who[first.speaker].track.play(first)))
                        await plays[0][1].finished.wait()
                        plays.append((who[second.speaker], who[second.speaker].track.play(second)))
                    else:
                        plays = [(who[s.speaker], who[s.speaker].track.play(s)) for s in speeches[phase]]
                    scores = await captioned(cat, plays, since)
                    phases[phase] = {"scores": scores, "misattributed": misattributed(cat, plays, since),
                                     "bob_saw": len(bob.finals(ann, since))}
                result["phases"] = phases

                await set_captions(ann, room, False)
                result["state_off"] = {m.name: await captions_state(m, False) for m in members}
                await asyncio.sleep(3.0)  # a window in flight when captions went off may still finish
                calls_off = await app.transcribe_calls()
                off_from = time.monotonic()
                heard_before = cat.audio_from(ann)
                played = ann.track.play(speeches["off"][0])
                await played.finished.wait()
                await asyncio.sleep(5.0)
                result["off"] = {"calls_at_off": calls_off, "calls_after": await app.transcribe_calls(),
                                 "captions_after": [c for c in cat.captions if c["at"] >= off_from],
                                 "audio_frames_while_off": cat.audio_from(ann) - heard_before}

                result["seen"] = [{k: c[k] for k in ("id", "speaker_id", "text")} for c in cat.captions if c["final"]]
                transcript = {}
                for fmt in ("json", "vtt", "srt"):
                    async with session.get(f"{app.base}/api/v1/meetings/{room}/transcript", params={"format": fmt},
                                           headers={"Authorization": f"Bearer {bob.token}"}) as reply:
                        transcript[fmt] = {"status": reply.status, "type": reply.content_type,
                                           "body": await reply.text()}
                result["transcript"] = transcript
            finally:
                for m in members:
                    await m.close()
        await app.stop()
    finally:
        if app.proc is not None and app.proc.returncode is None:
            app.proc.kill()
            await app.proc.wait()


# --- tests -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def meeting() -> dict[str, Any]:
    require_unshare()
    result, _ = run_module(MODULE, "meeting", timeout=600)
    return result


def check_phase(meeting: dict[str, Any], phase: str) -> None:
    got = meeting["phases"][phase]
    offline = meeting["offline"][phase]
    for sc in got["scores"]:
        missing = [s["index"] for s in sc["sentences"] if not s["captioned"]]
        assert missing == [], (phase, sc["speaker"], missing, sc["heard"])
        assert sc["wer"] <= offline["wer"][sc["speaker"]] + WER_SLACK, (phase, sc["speaker"], sc["heard"], offline)
    assert got["misattributed"] == [], got["misattributed"]


def test_host_turns_captions_on_and_every_member_is_told(meeting: dict[str, Any]) -> None:
    assert set(meeting["state_on"]) == {"ann", "bob", "cat"}
    assert meeting["calls_before_on"] == 0


def test_one_speaker_every_sentence_has_a_final_caption_of_hers_near_the_offline_wer(meeting: dict[str, Any]) -> None:
    check_phase(meeting, "alone")
    assert meeting["phases"]["alone"]["bob_saw"] > 0  # not only cat: every member


def test_two_speakers_in_turn_are_captioned_and_attributed(meeting: dict[str, Any]) -> None:
    check_phase(meeting, "in_turn")


def test_two_speakers_at_once_are_both_captioned_and_attributed(meeting: dict[str, Any]) -> None:
    check_phase(meeting, "overlapping")


def test_captions_off_stops_speech_to_text_while_media_keeps_flowing(meeting: dict[str, Any]) -> None:
    off = meeting["off"]
    assert set(meeting["state_off"]) == {"ann", "bob", "cat"}
    assert off["calls_after"] == off["calls_at_off"]
    assert off["captions_after"] == []
    assert off["audio_frames_while_off"] > 100


def cue_texts(body: str) -> list[str]:
    """The text of each cue of a WebVTT or SRT file (voice tags and speaker prefixes removed)."""
    texts = []
    for block in re.split(r"\n\s*\n", body.replace("\r\n", "\n").strip()):
        lines = block.split("\n")
        timing = [i for i, line in enumerate(lines) if "-->" in line]
        if not timing:
            continue
        text = " ".join(lines[timing[0] + 1:]).strip()
        text = re.sub(r"</?v[^>]*>", "", text).strip()
        texts.append(text)
    return texts


def test_the_transcript_holds_the_final_captions_in_json_vtt_and_srt(meeting: dict[str, Any]) -> None:
    transcript = meeting["transcript"]
    assert {f: t["status"] for f, t in transcript.items()} == {"json": 200, "vtt": 200, "srt": 200}
    seen = sorted(c["text"] for c in meeting["seen"])
    body = json.loads(transcript["json"]["body"])
    items = body["captions"] if isinstance(body, dict) else body
    assert sorted(c["text"] for c in items) == seen
    assert {c["speaker_id"] for c in items} == {meeting["ids"]["ann"], meeting["ids"]["bob"]}
    assert transcript["vtt"]["body"].startswith("WEBVTT")
    for fmt in ("vtt", "srt"):
        cues = cue_texts(transcript[fmt]["body"])
        assert sorted(cues) == seen or all(any(c.endswith(t) for c in cues) for t in seen), (fmt, cues, seen)


if __name__ == "__main__":
    allow_loopback_candidates()
    if sys.argv[1] == "app":
        asyncio.run(run_app(int(sys.argv[2])))
    else:
        out: dict[str, Any] = {}
        try:
            asyncio.run(scenario(out))
        finally:
            emit_result(out)
