"""Live captions end to end (issue 12): the all-in-one with its in-process speech-to-text, aiortc members
publishing espeak-ng speech with a known text (tests/support/caption_speech.py), and other members
receiving the ``caption`` frames over signaling once the host turned captions on.

One meeting, in phases: ann alone says three sentences; then bob and ann speak in turn; then both at
once; then the host turns captions off and ann speaks on: no further speech-to-text call.  Afterwards
the transcript endpoint returns what the members saw, in JSON, WebVTT and SRT.  And in another
meeting, the model server the all-in-one's AI service uses (``runners.inference``, APP_TRITON_URLS) is
killed while captions are on: media keeps flowing, every member is told captions are unavailable
(a ``captions`` frame, ``available: false``), and once it is started again captions come back.

Quality bound: the final captions' WER over a phase (all its speakers' words pooled, 27 to 37 words)
may exceed the offline WER of the same sentences by at most ``WER_SLACK`` = 0.10, three words.
The offline figure is the one after the Opus round trip (aiortc's encoder, the tap's decoder; one
``transcribe`` per sentence, no prompt: the best segmentation there is), so what is left between them
is the captioner's own doing: where the tap's VAD and the AI side's windows cut, the prompt, audio the
queues dropped.  Whisper tiny on synthetic speech flips a word now and then on such changes (a cut a
few tens of milliseconds elsewhere): on this 2-core machine the difference measured 0 to +0.03, and
+0.14 once with two speakers at once while other suites loaded the machine (load average 8 to 16;
unexplained: packets lost while the app's loop stalled is a guess); what this test is for, a lost,
cut or doubled window, costs a whole sentence (8-11 words, 0.22 and more).  The issue's goal (within
1 point of offline) is measured, not asserted, by bench/captions.py.

Like tests/integration/test_sfu_meeting.py, pytest re-runs this module under ``unshare -n``; the app
is a child of that process (tests/support/caption_meeting.py) that reports how many times the speech
recogniser ran.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_captions_end_to_end"
WER_SLACK = 0.10
# About a minute of speech played in real time, the offline baselines and a model server's start, on
# two cores: beyond the suite's 120 s.
pytestmark = pytest.mark.timeout(900)


async def scenario(result: dict[str, Any]) -> None:
    import aiohttp
    from aiortc import AudioStreamTrack

    from adapters.inference.engine import InProcessEngine
    from tests.support.caption_meeting import caption_app, captioned, captions_state, listener, misattributed, set_captions
    from tests.support.caption_speech import make_track, offline_baseline, script

    speeches = {"alone": [script("ann", range(0, 3))],
                "in_turn": [script("bob", range(0, 2)), script("ann", range(3, 4))],
                "overlapping": [script("ann", range(4, 6)), script("bob", range(2, 4))],
                "off": [script("ann", range(0, 2))]}

    async def baselines() -> dict[str, Any]:
        # Only the codec baseline: the bound below is against it (bench/captions.py reports both).  One
        # engine for all phases, and computed while the app starts (a process of its own, the other core).
        engine = InProcessEngine()
        try:
            return {phase: await offline_baseline(s, engine, kinds=("codec",))
                    for phase, s in speeches.items() if phase != "off"}
        finally:
            await engine.close()

    app = caption_app(18890)
    try:
        result["offline"], _ = await asyncio.gather(baselines(), app.start())
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

                result["seen"] = [{k: c[k] for k in ("caption_id", "speaker_id", "text")} for c in cat.captions if c["final"]]
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


async def outage(result: dict[str, Any]) -> None:
    """The all-in-one's AI service on a model server of its own (``runners.inference``, PyTriton),
    killed while captions are on and started again."""
    import aiohttp

    from tests.support.caption_meeting import caption_app, captions_state, listener, set_captions
    from tests.support.caption_speech import make_track, script
    from tests.support.triton import PrivateTriton

    triton = PrivateTriton()
    await asyncio.to_thread(triton.start)
    app = caption_app(18891, APP_TRITON_URLS=triton.grpc_url, APP_TRITON_HEALTH_INTERVAL="0.5")
    await app.start()
    try:
        async with aiohttp.ClientSession() as session:
            ann, cat = members = [listener(n, app, session) for n in ("ann", "cat")]
            try:
                for m in members:
                    await m.sign_up()
                _, meeting = await ann.http("POST", "/api/v1/meetings", json={"title": "Captions through an outage"})
                room = meeting["id"]
                for m in members:
                    await m.connect()
                    await m.join(room)
                await ann.publish_audio(make_track())
                await cat.publish_audio(make_track())
                await cat.hearing(ann)
                await set_captions(ann, room, True)
                await captions_state(cat, True)

                async def say(which: int, wait_s: float) -> list[dict[str, Any]]:
                    since = time.monotonic()
                    played = ann.track.play(script("ann", range(which, which + 1), lead_in_s=0.2))
                    await played.finished.wait()
                    deadline = time.monotonic() + wait_s
                    while not cat.finals(ann, since) and time.monotonic() < deadline:
                        await asyncio.sleep(0.1)
                    return [c["text"] for c in cat.finals(ann, since)]

                result["before"] = await say(0, 30)

                await asyncio.to_thread(triton.kill)
                down_from, heard_from = time.monotonic(), cat.audio_from(ann)
                during: list[str] = []
                notice = None
                for which in (1, 2, 3, 4):
                    during += await say(which, 2)
                    try:
                        notice = await captions_state(cat, True, available=False, timeout=0.1)
                        break
                    except TimeoutError:
                        continue
                result["notice"] = notice
                result["notice_to_ann"] = (await captions_state(ann, True, available=False, timeout=5)
                                           if notice is not None else None)
                result["during"] = during
                result["audio_while_down"] = cat.audio_from(ann) - heard_from
                result["down_for_s"] = time.monotonic() - down_from

                await asyncio.to_thread(triton.start)
                after: list[str] = []
                back = None
                for which in (5, 0, 1, 2, 3, 4):  # the captioner retries after a backoff of up to 10 s
                    after += await say(which, 5)
                    if after:
                        break
                try:
                    back = await captions_state(cat, True, available=True, timeout=10)
                except TimeoutError:
                    pass
                result["after"] = after
                result["back"] = back
            finally:
                for m in members:
                    await m.close()
        await app.stop()
    finally:
        if app.proc is not None and app.proc.returncode is None:
            app.proc.kill()
            await app.proc.wait()
        await asyncio.to_thread(triton.stop)


# --- tests -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def meeting() -> dict[str, Any]:
    require_unshare()
    result, _ = run_module(MODULE, "meeting", timeout=600)
    return result


def check_phase(meeting: dict[str, Any], phase: str) -> None:
    from tests.support.caption_speech import pooled_wer

    got = meeting["phases"][phase]
    offline = meeting["offline"][phase]["codec"]
    for sc in got["scores"]:
        missing = [s["index"] for s in sc["sentences"] if not s["captioned"]]
        assert missing == [], (phase, sc["speaker"], missing, sc["heard"])
    live = pooled_wer([(sc["reference"], sc["heard"]) for sc in got["scores"]])
    assert live <= offline["wer_all"] + WER_SLACK, (phase, live, [sc["heard"] for sc in got["scores"]], offline)
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


def cues(body: str, fmt: str) -> list[tuple[str, str]]:
    """(speaker name, text) of each cue of a WebVTT (``<v Name>text``) or SRT (``Name: text``) file."""
    import html

    out = []
    for block in re.split(r"\n\s*\n", body.replace("\r\n", "\n").strip()):
        lines = block.split("\n")
        timing = [i for i, line in enumerate(lines) if "-->" in line]
        if not timing:
            continue
        text = " ".join(lines[timing[0] + 1:]).strip()
        if fmt == "vtt":
            voice = re.fullmatch(r"<v ([^>]*)>(.*)", text)
            assert voice is not None, text
            out.append((html.unescape(voice.group(1)), html.unescape(voice.group(2))))
        else:
            name, _, said = text.partition(": ")
            out.append((name, said))
    return out


def test_the_transcript_holds_the_final_captions_in_json_vtt_and_srt(meeting: dict[str, Any]) -> None:
    transcript = meeting["transcript"]
    assert {f: t["status"] for f, t in transcript.items()} == {"json": 200, "vtt": 200, "srt": 200}
    seen = sorted((c["speaker_id"], c["text"]) for c in meeting["seen"])
    items = json.loads(transcript["json"]["body"])["items"]
    assert sorted((c["speaker_id"], c["text"]) for c in items) == seen
    assert {c["speaker_id"] for c in items} == {meeting["ids"]["ann"], meeting["ids"]["bob"]}
    named = [(c["display_name"], c["text"]) for c in items]
    assert transcript["vtt"]["body"].startswith("WEBVTT")
    for fmt in ("vtt", "srt"):
        assert cues(transcript[fmt]["body"], fmt) == named, fmt
def test_when_speech_to_text_goes_down_media_flows_members_are_told_and_captions_come_back() -> None:
    require_unshare()
    result, _ = run_module(MODULE, "outage", timeout=600)
    assert result["before"], "no caption before the outage"
    assert result["notice"] is not None and result["notice"]["reason"], result
    assert result["notice_to_ann"] is not None
    assert result["audio_while_down"] > 100, result  # Opus frames (20 ms) cat received from ann meanwhile
    assert result["after"], result
    assert result["back"] is not None, result


if __name__ == "__main__":
    allow_loopback_candidates()
    out: dict[str, Any] = {}
    try:
        asyncio.run(outage(out) if sys.argv[1:] == ["outage"] else scenario(out))
    finally:
        emit_result(out)
