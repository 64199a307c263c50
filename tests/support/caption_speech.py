"""Speech with a known text for the live-caption test and benchmark (issue 12), and how to score captions.

Each speaker says short sentences (espeak-ng, one voice per speaker) separated by pauses, as a meeting
member would: ``script`` lays them out in time, ``SpeechTrack`` plays that audio into an aiortc peer
connection in real time (48 kHz, 20 ms frames, silence before ``play`` and after the script) and notes
when each sentence's last sample went out; ``offline_baseline`` transcribes the very same sentences
with the same engine without the meeting in between (one call per sentence, no prompt: the best
segmentation there is; from the source audio, and after the Opus round trip a member's audio takes),
and ``score`` aligns the final captions a member received with the script.

Synthetic speech: the figures compare the live path with offline transcription of the same audio,
they are not meeting accuracy (confero_contracts/speech.py).
"""

from __future__ import annotations

import asyncio
import difflib
import fractions
import time
from typing import Any

from attrs import define, field, frozen

from confero_contracts.speech import espeak, silence, wer, words
from domain.analysis.inference import PcmAudio

TRACK_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz, as browsers send Opus

# Distinct sentences per speaker (so a caption's text also tells whose it is), each under 4 s at 160
# words per minute so that one pause-cut window of the AI service (2-5 s) holds one sentence.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "ann": ("The quarterly report is ready and the numbers look good.",
            "Please share your screen so everyone can see the slides.",
            "We will meet again next Tuesday afternoon.",
            "Let us move on to the next item on the agenda.",
            "I have booked a bigger room for the workshop.",
            "The first version will be ready in two weeks."),
    "bob": ("Can you hear me now or is my microphone muted?",
            "The new design makes the application much faster.",
            "I will send the minutes to the whole team tonight.",
            "Thank you all for joining the call today."),
    "cat": ("The budget for next year still needs approval.",
            "I think we should start the project next month.",
            "The server will be updated during the weekend.",
            "Please send your questions about the plan by email."),
    "dan": ("The marketing team finished the new brochure.",
            "Sales grew faster in the north than in the south.",
            "We should hire two more engineers this spring.",
            "The office will be closed on Friday morning."),
}
VOICES = {"ann": "en-us", "bob": "en-gb", "cat": "en-us+m1", "dan": "en-gb-x-rp"}
LEAD_IN_S = 1.0
PAUSE_S = 1.5


@frozen(kw_only=True)
class Sentence:
    speaker: str
    index: int
    text: str
    start_s: float  # from the first sample of the speaker's script
    end_s: float


@frozen(kw_only=True)
class Script:
    speaker: str
    sentences: tuple[Sentence, ...]
    audio: PcmAudio  # TRACK_RATE, mono, 16-bit

    @property
    def duration_s(self) -> float:
        return len(self.audio.samples) / 2 / TRACK_RATE


def script(speaker: str, which: range | None = None, *, lead_in_s: float = LEAD_IN_S,
           pause_s: float = PAUSE_S) -> Script:
    """The speaker's sentences (those ``which`` numbers, all by default) with ``lead_in_s`` of silence
    first and ``pause_s`` after each."""
    voice = VOICES[speaker]
    parts, sentences, at = [silence(lead_in_s, TRACK_RATE)], [], lead_in_s
    for i in which if which is not None else range(len(SCRIPTS[speaker])):
        text = SCRIPTS[speaker][i]
        said = espeak(text, TRACK_RATE, voice)
        length = len(said.samples) / 2 / TRACK_RATE
        sentences.append(Sentence(speaker=speaker, index=i, text=text, start_s=at, end_s=at + length))
        parts += [said, silence(pause_s, TRACK_RATE)]
        at += length + pause_s
    audio = PcmAudio(samples=b"".join(p.samples for p in parts), sample_rate=TRACK_RATE)
    return Script(speaker=speaker, sentences=tuple(sentences), audio=audio)


@define
class Playback:
    """One script played by a SpeechTrack: when its first sample and each sentence's last went out."""

    speech: Script
    played_at: float | None = None  # monotonic
    sentence_ends: dict[int, float] = field(factory=dict)  # sentence index -> monotonic time sent
    finished: asyncio.Event = field(factory=asyncio.Event)


def make_track() -> Any:
    """An aiortc audio track that sends silence, and a script once each time ``play(script)`` asks."""
    from aiortc import MediaStreamTrack
    from av import AudioFrame

    class SpeechTrack(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.playing: Playback | None = None
            self._pos = 0  # bytes of the current script sent
            self._start: float | None = None
            self._timestamp = 0

        def play(self, speech: Script) -> Playback:
            assert self.playing is None or self.playing.finished.is_set(), "still playing"
            self._pos = 0
            self.playing = Playback(speech=speech)
            return self.playing

        async def recv(self) -> Any:
            if self._start is None:
                self._start = time.monotonic()
            else:
                self._timestamp += FRAME_SAMPLES
                wait = self._start + self._timestamp / TRACK_RATE - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            size = FRAME_SAMPLES * 2
            data = bytes(size)
            now = time.monotonic()
            p = self.playing
            if p is not None and not p.finished.is_set():
                samples = p.speech.audio.samples
                if self._pos == 0:
                    p.played_at = now
                chunk = samples[self._pos:self._pos + size]
                data = chunk + bytes(size - len(chunk))
                self._pos += size
                for s in p.speech.sentences:
                    if s.index not in p.sentence_ends and self._pos >= s.end_s * TRACK_RATE * 2:
                        p.sentence_ends[s.index] = now + FRAME_SAMPLES / TRACK_RATE
                if self._pos >= len(samples):
                    p.finished.set()
            frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
            frame.planes[0].update(data)
            frame.pts = self._timestamp
            frame.sample_rate = TRACK_RATE
            frame.time_base = fractions.Fraction(1, TRACK_RATE)
            return frame

    return SpeechTrack()


# --- the offline baseline -------------------------------------------------------------------------

def through_opus(speech: PcmAudio) -> PcmAudio:
    """``speech`` (48 kHz) as the SFU's caption tap gets it, without the network: aiortc's own Opus
    encoder (what a member's peer connection sends), then the tap's decoder (Opus -> 16 kHz)."""
    from aiortc.codecs.opus import OpusEncoder
    from av import AudioFrame

    from adapters.pyav.opus_pcm import OpusToPcm

    encoder, decoder, out = OpusEncoder(), OpusToPcm(), bytearray()
    size = FRAME_SAMPLES * 2
    samples = speech.samples + bytes(-len(speech.samples) % size)
    for i in range(0, len(samples), size):
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(samples[i:i + size])
        frame.sample_rate = TRACK_RATE
        frame.pts = i // 2
        frame.time_base = fractions.Fraction(1, TRACK_RATE)
        for payload in encoder.encode(frame)[0]:
            out += decoder.decode(payload)
    return PcmAudio(samples=bytes(out), sample_rate=16_000)


async def offline_baseline(scripts: list[Script], engine: Any = None,
                           kinds: tuple[str, ...] = ("source", "codec")) -> dict[str, Any]:
    """Each sentence transcribed alone by the in-process engine's ``transcribe`` (no prompt), once per
    kind asked: ``source``: espeak-ng straight to 16 kHz; ``codec``: the same speech through aiortc's
    Opus encoder and the tap's decoder (``through_opus``), i.e. what the SFU receives.  Each is
    {"texts": {speaker: [text per sentence]}, "wer": {speaker: wer}, "wer_all": pooled wer}.
    ``engine``: one to reuse (a caller scoring several phases loads the model once); by default one
    of its own, closed afterwards."""
    from adapters.inference.engine import InProcessEngine

    own = engine is None
    engine = engine or InProcessEngine()
    refs = {sc.speaker: " ".join(s.text for s in sc.sentences) for sc in scripts}
    out: dict[str, Any] = {}
    try:
        for kind in kinds:
            texts: dict[str, list[str]] = {}
            for sc in scripts:
                texts[sc.speaker] = []
                for s in sc.sentences:
                    audio = (espeak(s.text, 16_000, VOICES[sc.speaker]) if kind == "source"
                             else through_opus(espeak(s.text, TRACK_RATE, VOICES[sc.speaker])))
                    texts[sc.speaker].append((await engine.transcribe(audio, timeout=120)).text)
            hyps = {k: " ".join(v) for k, v in texts.items()}
            out[kind] = {"texts": texts, "wer": {k: wer(refs[k], hyps[k]) for k in refs},
                         "wer_all": pooled_wer([(refs[k], hyps[k]) for k in refs])}
    finally:
        if own:
            await engine.close()
    return out


def pooled_wer(pairs: list[tuple[str, str]]) -> float:
    """WER over several (reference, hypothesis) pairs: all edits over all reference words."""
    edits = sum(wer(r, h) * max(len(words(r)), 1) for r, h in pairs)
    return edits / max(sum(len(words(r)) for r, _ in pairs), 1)


# --- scoring the captions a member received -------------------------------------------------------

def score(played: Playback, captions: list[dict[str, Any]]) -> dict[str, Any]:
    """``captions``: the final captions of this speaker as received, each {"text", "at" (monotonic
    arrival)}, in arrival order.  The script's words and the captions' words are aligned; a sentence is
    captioned when at least half its words are matched, and its delay runs from the end of its last
    sample to the arrival of the last caption holding one of its matched words."""
    speech, sent_ends = played.speech, played.sentence_ends
    ref: list[tuple[int, str]] = [(s.index, w) for s in speech.sentences for w in words(s.text)]
    hyp: list[tuple[int, str]] = [(i, w) for i, c in enumerate(captions) for w in words(c["text"])]
    matcher = difflib.SequenceMatcher(a=[w for _, w in ref], b=[w for _, w in hyp], autojunk=False)
    matched: dict[int, list[int]] = {}  # sentence index -> caption indices of its matched words
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            matched.setdefault(ref[block.a + k][0], []).append(hyp[block.b + k][0])
    sentences = []
    for s in speech.sentences:
        n = len(words(s.text))
        got = matched.get(s.index, [])
        last = max(got) if got else None
        delay = (captions[last]["at"] - sent_ends[s.index]
                 if last is not None and s.index in sent_ends else None)
        sentences.append({"index": s.index, "coverage": len(got) / n, "captioned": len(got) * 2 >= n,
                          "delay_s": delay})
    said = " ".join(s.text for s in speech.sentences)
    heard = " ".join(c["text"] for c in captions)
    return {"sentences": sentences, "wer": wer(said, heard), "reference": said, "heard": heard}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
