"""The media server's captions tap (adapters/webrtc/caption_tap.py) on fake published tracks fed with
Opus-encoded espeak-ng speech: speech goes to speech-to-text one stream per utterance, long silences
and noise are not sent, a full queue drops instead of blocking, stop ends everything, and an AI
service that is down is told once and then resumed."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from adapters.webrtc.caption_tap import AiortcRoomCaptioner
from confero_contracts.speech import SENTENCES, espeak, silence
from domain.shared.ids import MeetingId, UserId, new_id
from tests.support.caption_fakes import FakeSink, FakeSpeech
from tests.support.encoded import FakePublished, opus_packets

T0 = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
ROOM, ALICE, BOB = MeetingId(new_id()), UserId(new_id()), UserId(new_id())


def speech(i: int) -> bytes:
    return espeak(SENTENCES[i], rate=48_000).samples


def quiet(seconds: float) -> bytes:
    return silence(seconds, rate=48_000).samples


def noise(seconds: float, level: float = 3000) -> bytes:
    rng = np.random.default_rng(7)
    return (rng.standard_normal(int(seconds * 48_000)) * level).astype("<i2").tobytes()


class Rig:
    def __init__(self, **options: Any) -> None:
        self.now = 1000.0
        self.media = SimpleNamespace(watchers=[], rooms={})
        self.speech, self.sink = FakeSpeech(), FakeSink()
        self.captioner = AiortcRoomCaptioner(self.media, self.speech, self.sink,  # type: ignore[arg-type]
                                             wall=lambda: T0, monotonic=lambda: self.now, **options)
        self.rtp = 0

    def publish(self, user: UserId, kind: str = "audio") -> FakePublished:
        track = FakePublished(kind)
        for watcher in self.media.watchers:
            watcher.track_published(ROOM, user, track)
        return track

    async def say(self, track: FakePublished, *pcm: bytes) -> None:
        """Sends the audio in real time as the tap sees it: 20 ms per packet on the rig's clock."""
        for i, packet in enumerate(opus_packets(b"".join(pcm))):
            self.now += 0.02
            self.rtp += 960
            track.send(packet, self.rtp, False)
            if i % 10 == 9:
                await settle()
        await settle()


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def until(condition, what: str) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.001)
    try:
        await asyncio.wait_for(wait(), 10)
    except TimeoutError:
        pytest.fail(f"never: {what}")


@pytest.fixture
async def rig():
    r = Rig()
    await r.captioner.start(ROOM)
    yield r
    await r.captioner.close()


async def test_each_utterance_is_one_stream_and_the_long_silence_between_is_not_sent(rig):
    track = rig.publish(ALICE)
    first, second = speech(0), speech(1)
    await rig.say(track, quiet(0.5), first, quiet(2.5), second, quiet(1.5))
    await until(lambda: len(rig.sink.captions) == 2, "two captions")
    assert len(rig.speech.streams) == 2 and rig.speech.speakers == [ALICE, ALICE]
    for stream, spoken in enumerate((first, second)):
        sent, said = rig.speech.seconds(stream), len(spoken) / 96_000
        assert said - 0.6 < sent < said + 0.6  # the speech with its preroll: not the silences
    one, two = rig.sink.captions
    assert one.speaker_id == two.speaker_id == ALICE and one.meeting_id == ROOM and one.final
    assert one.id != two.id and one.text and two.text
    # wall-clock times from when the audio arrived (the rig's clock: 20 ms per packet from T0)
    assert abs((one.start_at - T0).total_seconds() - 0.5) < 0.4
    assert abs((two.start_at - T0).total_seconds() - (0.5 + len(first) / 96_000 + 2.5)) < 0.4
    assert one.end_at < two.start_at and two.start_at < two.end_at


async def test_short_pauses_stay_in_the_stream_so_the_ai_side_can_cut_its_windows_there(rig):
    track = rig.publish(ALICE)
    await rig.say(track, speech(0), quiet(0.4), speech(1), quiet(1.5))
    await until(lambda: len(rig.sink.captions) == 1, "one caption")
    said = (len(speech(0)) + len(speech(1))) / 96_000 + 0.4
    assert len(rig.speech.streams) == 1 and rig.speech.seconds(0) > said - 0.6


async def test_silence_and_steady_noise_open_no_stream(rig):
    track = rig.publish(ALICE)
    await rig.say(track, quiet(3), noise(5))
    assert rig.speech.attempts == 0 and rig.captioner.stats()["frames"] >= 400


async def test_two_speakers_get_their_own_streams(rig):
    alice, bob = rig.publish(ALICE), rig.publish(BOB)
    await asyncio.gather(rig.say(alice, speech(2), quiet(1.5)), rig.say(bob, quiet(0.3), speech(3), quiet(1.5)))
    await until(lambda: len(rig.sink.captions) == 2, "a caption from each")
    assert sorted(rig.speech.speakers) == sorted([ALICE, BOB])
    assert {c.speaker_id for c in rig.sink.captions} == {ALICE, BOB}


async def test_a_full_queue_drops_frames_and_never_blocks_the_forwarding_path():
    r = Rig(queue_frames=10)
    await r.captioner.start(ROOM)
    track = r.publish(ALICE)
    packets = opus_packets(speech(0) + speech(1))
    for packet in packets:  # the loop never turns: the tap cannot drain
        track.send(packet, 0, False)
    assert r.captioner.stats()["frames"] == 10 and r.captioner.stats()["dropped"] == len(packets) - 10
    await r.captioner.close()


async def test_slow_speech_to_text_drops_audio_of_its_stream_not_frames_of_the_tap():
    r = Rig(stream_chunks=25)
    await r.captioner.start(ROOM)
    r.speech.gate = asyncio.Event()
    track = r.publish(ALICE)
    await r.say(track, speech(0), speech(1))
    stats = r.captioner.stats()
    assert stats["dropped"] == 0 and stats["dropped_slow"] > 0
    r.speech.gate.set()
    await r.say(track, quiet(1.5))
    await until(lambda: len(r.sink.captions) == 1, "the caption of what got through")
    await r.captioner.close()


async def test_stop_ends_the_tap_and_its_stream_at_once(rig):
    track = rig.publish(ALICE)
    await rig.say(track, speech(0))
    await until(lambda: rig.speech.open == 1, "a stream open while Alice talks")
    await rig.captioner.stop(ROOM)
    assert rig.speech.open == 0 and track.observers == [] and await rig.captioner.captioning() == []
    await rig.say(track, speech(1), quiet(1.5))
    assert rig.speech.attempts == 1 and rig.sink.captions == []
    await rig.captioner.stop(ROOM)  # idempotent


async def test_a_member_who_leaves_mid_sentence_still_gets_that_sentence_captioned(rig):
    track = rig.publish(ALICE)
    await rig.say(track, speech(0))
    rig.captioner.member_left(ROOM, ALICE)
    await until(lambda: len(rig.sink.captions) == 1, "the last sentence's caption")
    assert track.observers == [] and rig.speech.open == 0 and rig.captioner.stats()["taps"] == 0


async def test_an_unavailable_ai_service_is_told_once_and_captions_resume_when_it_is_back(rig):
    track = rig.publish(ALICE)
    rig.speech.down = True
    await rig.say(track, speech(0), quiet(1.5), speech(1), quiet(1.5))
    await until(lambda: rig.sink.told_unavailable, "members told")
    assert rig.sink.told_unavailable == [(ROOM, "the AI service is down (test)")]
    assert rig.sink.captions == [] and rig.captioner.stats()["dropped_unavailable"] > 0
    tried = rig.speech.attempts
    assert 2 <= tried < 10  # retried with a growing delay, not on every frame
    rig.speech.down = False
    await rig.say(track, quiet(10), speech(2), quiet(1.5))
    await until(lambda: rig.sink.told_resumed == [ROOM], "members told captions are back")
    await until(lambda: len(rig.sink.captions) == 1, "a caption again")
    assert len(rig.sink.told_unavailable) == 1


async def test_video_tracks_and_rooms_without_captions_are_not_tapped(rig):
    video = rig.publish(ALICE, kind="video")
    elsewhere = FakePublished("audio")
    rig.captioner.track_published(MeetingId(new_id()), BOB, elsewhere)  # type: ignore[arg-type]
    assert video.observers == [] and elsewhere.observers == [] and rig.captioner.stats()["taps"] == 0


async def test_start_taps_the_audio_already_published_in_the_room():
    r = Rig()
    track = FakePublished("audio")
    r.media.rooms[ROOM] = SimpleNamespace(peers={ALICE: SimpleNamespace(published={"a": track})})
    await r.captioner.start(ROOM)
    await r.captioner.start(ROOM)  # idempotent
    assert len(track.observers) == 1 and await r.captioner.captioning() == [ROOM]
    await r.captioner.close()
    assert track.observers == [] and r.media.watchers == []


async def test_stop_also_ends_the_last_utterance_of_a_member_who_just_left(rig):
    track = rig.publish(ALICE)
    rig.speech.gate = asyncio.Event()  # speech-to-text is slow: the leaver's stream is still open
    await rig.say(track, speech(0))
    rig.captioner.member_left(ROOM, ALICE)
    await until(lambda: rig.speech.open == 1, "the leaver's stream open")
    await rig.captioner.stop(ROOM)
    assert rig.speech.open == 0 and rig.sink.captions == []


class BrokenSpeech(FakeSpeech):
    async def transcribe_live(self, meeting_id, speaker_id, audio):
        self.attempts += 1
        raise RuntimeError("a bug in an adapter")
        yield  # pragma: no cover


async def test_an_unexpected_speech_to_text_error_is_told_as_unavailable_and_the_tap_goes_on():
    r = Rig()
    r.speech = BrokenSpeech()
    r.captioner.speech = r.speech
    await r.captioner.start(ROOM)
    track = r.publish(ALICE)
    await r.say(track, speech(0), quiet(1.5))
    await until(lambda: r.sink.told_unavailable, "members told")
    assert "RuntimeError" in r.sink.told_unavailable[0][1] and len(track.observers) == 1
    await r.captioner.close()


async def test_through_the_analysis_service_windows_are_cut_in_the_pauses_and_none_is_of_silence_alone():
    from adapters.inprocess.speech import InProcessSpeechToText
    from tests.support.analysis_world import analysis_world

    world = analysis_world()
    meeting = await world.meeting(members=(ALICE, BOB))
    r = Rig()
    r.captioner.speech = InProcessSpeechToText(world.service)
    await r.captioner.start(meeting.id)
    track = FakePublished("audio")
    r.captioner.track_published(meeting.id, ALICE, track)  # type: ignore[arg-type]
    await r.say(track, speech(0), quiet(0.4), speech(1), quiet(1.5))
    await until(lambda: len(r.sink.captions) == 2, "a caption per window")
    one, two = r.sink.captions
    assert one.text.startswith("word0") and one.speaker_id == ALICE and one.id != two.id
    # the second window starts where the AI side cut: in the pause after the first sentence
    cut = (two.start_at - one.start_at).total_seconds()
    assert len(speech(0)) / 96_000 < cut < len(speech(0)) / 96_000 + 0.4 + 0.05
    await r.captioner.close()


async def test_a_member_who_restarts_its_connection_mid_sentence_gets_one_caption_from_one_stream(rig):
    """docs/signaling.md 13.12: the new connection's audio track continues the old one; the tap follows it."""
    old = rig.publish(ALICE)
    sentence = speech(0)
    half = len(sentence) // 2 // 1920 * 1920  # whole 20 ms packets
    await rig.say(old, quiet(0.3), sentence[:half])
    new = FakePublished("audio")
    for watcher in rig.media.watchers:
        watcher.track_continued(ROOM, ALICE, old, new)
    rig.rtp += 123_456  # a new RTP stream: its own clock
    await rig.say(new, sentence[half:], quiet(1.5))
    await until(lambda: len(rig.sink.captions) == 1, "one caption")
    assert len(rig.speech.streams) == 1 and rig.captioner.stats()["taps"] == 1
    assert old.observers == [] and len(new.observers) == 1
    said = len(sentence) / 96_000
    assert rig.speech.seconds(0) > said - 0.6  # both halves went to the one stream
