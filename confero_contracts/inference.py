"""Contract for ports.inference.InferenceEngine (in-process engine, Triton nodes, yours).

Speech is espeak-ng's (Debian) saying known sentences, sometimes under generated white noise; the WER
bounds below are for that synthetic speech and Whisper tiny.en, not meeting accuracy.  The bounds sit
well above what was measured (clean 3-5 %, 10 dB 29-31 %) so that they catch a broken pipeline
(wrong rate, truncated audio, lost prompt) rather than small model differences.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from confero_contracts.speech import SENTENCES, concat, espeak, silence, wer, with_noise
from domain.analysis.errors import FeatureNotOffered, InferenceUnavailable, InvalidInput
from domain.analysis.inference import PcmAudio, Task, VideoFrame
from ports.inference import InferenceEngine

CLEAN_WER_BOUND = 0.15   # mean over SENTENCES, clean synthetic speech
NOISY_WER_BOUND = 0.50   # mean over SENTENCES, white noise at 10 dB SNR
T = 60.0                 # generous per-call deadline: CI machines are slow and shared


def _scaled(audio: PcmAudio, gain: float) -> PcmAudio:
    x = np.frombuffer(audio.samples, "<i2").astype(np.float64) * gain
    return PcmAudio(samples=np.clip(x, -32768, 32767).astype("<i2").tobytes(), sample_rate=audio.sample_rate)


def _rms(audio: PcmAudio, start_s: float, end_s: float) -> float:
    x = np.frombuffer(audio.samples, "<i2").astype(np.float64)
    part = x[int(start_s * audio.sample_rate):int(end_s * audio.sample_rate)]
    return float(np.sqrt(np.mean(part**2)))


class InferenceEngineContract:
    @pytest.fixture
    async def engine(self) -> InferenceEngine:
        raise NotImplementedError

    # -- speech recognition ----------------------------------------------------------------------------

    async def test_transcribes_clean_speech_below_the_wer_bound(self, engine):
        errors = []
        for text in SENTENCES:
            result = await engine.transcribe(espeak(text), timeout=T)
            errors.append(wer(text, result.text))
        assert float(np.mean(errors)) < CLEAN_WER_BOUND, errors

    async def test_transcribes_speech_in_noise_below_the_wer_bound(self, engine):
        errors = []
        for seed, text in enumerate(SENTENCES):
            result = await engine.transcribe(with_noise(espeak(text), 10.0, seed=seed), timeout=T)
            errors.append(wer(text, result.text))
        assert float(np.mean(errors)) < NOISY_WER_BOUND, errors

    async def test_segments_carry_ordered_times_inside_the_clip(self, engine):
        clip = concat(espeak(SENTENCES[0]), silence(1.5), espeak(SENTENCES[1]))
        result = await engine.transcribe(clip, timeout=T)
        assert result.language == "en" and result.segments
        ends = [0.0]
        for seg in result.segments:
            assert ends[-1] - 0.05 <= seg.start_s <= seg.end_s <= clip.duration_s + 0.5
            assert 0.0 <= seg.confidence <= 1.0
            ends.append(seg.end_s)
        assert wer(SENTENCES[0] + " " + SENTENCES[1], result.text) < 0.25

    async def test_a_prompt_is_accepted_and_does_not_leak_into_the_text(self, engine):
        result = await engine.transcribe(espeak(SENTENCES[2]), prompt="Agenda: meetings, slides.", timeout=T)
        assert "Agenda" not in result.text
        assert wer(SENTENCES[2], result.text) < 0.3

    async def test_a_stream_of_windows_gives_one_transcription_per_window(self, engine):
        async def windows():
            for text in SENTENCES[:2]:
                yield espeak(text)

        results = [r async for r in engine.transcribe_stream(windows(), timeout=T)]
        assert len(results) == 2
        assert wer(SENTENCES[1], results[1].text) < 0.3

    @pytest.mark.parametrize("audio, reason", [
        (PcmAudio(samples=b"\0\0" * 8000, sample_rate=8000), "wrong_rate"),
        (PcmAudio(samples=b"", sample_rate=16000), "empty"),
        (PcmAudio(samples=b"\0" * 3201, sample_rate=16000), "not_audio"),
    ])
    async def test_audio_it_cannot_take_is_invalid_input(self, engine, audio, reason):
        with pytest.raises(InvalidInput) as caught:
            await engine.transcribe(audio, timeout=T)
        assert caught.value.details.get("reason") == reason

    async def test_a_deadline_that_passes_is_unavailable_not_a_hang(self, engine):
        long_clip = concat(*(espeak(t) for t in SENTENCES))
        with pytest.raises(InferenceUnavailable):
            await engine.transcribe(long_clip, timeout=0.01)

    async def test_concurrent_calls_all_answer(self, engine):
        texts = [[f"I love this {i}"] for i in range(12)]
        results = await asyncio.gather(
            engine.transcribe(espeak(SENTENCES[3]), timeout=T),
            *(engine.text_sentiment(t, timeout=T) for t in texts))
        assert wer(SENTENCES[3], results[0].text) < 0.3
        assert all(r[0].label == "positive" for r in results[1:])

    # -- text ------------------------------------------------------------------------------------------

    async def test_text_sentiment_reads_polarity(self, engine):
        scores = await engine.text_sentiment(
            ["This is wonderful, great work!", "This is terrible and I hate it.", "The file is on the server."],
            timeout=T)
        assert [s.label for s in scores] == ["positive", "negative", "neutral"]
        assert all(0.0 <= s.score <= 1.0 for s in scores)

    async def test_text_emotion_scores_all_six_labels_best_first(self, engine):
        tags = await engine.text_emotion(["I am terrified that something awful will happen tonight.",
                                          "Yay, we won, I am so happy!"], timeout=T)
        assert len(tags) == 2
        for row in tags:
            assert {t.label for t in row} == {"joy", "anger", "sadness", "fear", "surprise", "neutral"}
            assert [t.score for t in row] == sorted((t.score for t in row), reverse=True)
            assert abs(sum(t.score for t in row) - 1.0) < 1e-3
        assert tags[0][0].label == "fear" and tags[1][0].label == "joy"

    @pytest.mark.parametrize("texts", [[], "a bare string", ["x" * 10_001]])
    async def test_text_it_cannot_take_is_invalid_input(self, engine, texts):
        with pytest.raises(InvalidInput):
            await engine.text_emotion(texts, timeout=T)

    # -- prosody -----------------------------------------------------------------------------------------

    async def test_vocal_arousal_is_relative_to_the_baseline(self, engine):
        calm = espeak(SENTENCES[4], speed=130)
        raised = _scaled(espeak(SENTENCES[4], speed=200), 2.0)
        alone = await engine.vocal_arousal(calm, timeout=T)
        assert alone["loudness_shift_db"] == 0.0 and alone["arousal_index"] == 0.0
        assert 60 <= alone["pitch_median_hz"] <= 400
        against = await engine.vocal_arousal(raised, baseline=calm, timeout=T)
        assert against["loudness_shift_db"] > 3.0
        assert against["onset_rate_ratio"] > 1.1
        assert against["arousal_index"] > 0.0

    # -- synthetic speech ------------------------------------------------------------------------------

    async def test_synthetic_speech_detection_is_refused_with_a_reason(self, engine):
        with pytest.raises(FeatureNotOffered) as caught:
            await engine.synthetic_speech_risk(espeak(SENTENCES[0]), timeout=T)
        assert "44 %" in caught.value.message

    # -- denoise -----------------------------------------------------------------------------------------

    @pytest.mark.parametrize("method", ["deepfilternet", "rnnoise"])
    async def test_denoise_keeps_length_and_lowers_the_noise_floor(self, engine, method):
        speech = concat(silence(1.0, 48_000), espeak(SENTENCES[0], rate=48_000))
        noisy = with_noise(speech, 5.0, seed=3)
        clean = await engine.denoise(noisy, method=method, timeout=T)
        assert clean.sample_rate == 48_000 and len(clean.samples) == len(noisy.samples)
        # The first second holds only noise: the method must take most of it away.
        assert _rms(clean, 0.2, 0.9) < 0.5 * _rms(noisy, 0.2, 0.9)
        # ...and keep the speech: its energy may drop, not vanish.
        assert _rms(clean, 1.2, speech.duration_s) > 0.3 * _rms(speech, 1.2, speech.duration_s)

    async def test_denoise_refuses_unknown_methods_and_wrong_rates(self, engine):
        with pytest.raises(InvalidInput):
            await engine.denoise(espeak(SENTENCES[0], rate=48_000), method="magic", timeout=T)
        with pytest.raises(InvalidInput):
            await engine.denoise(espeak(SENTENCES[0]), method="rnnoise", timeout=T)

    # -- video ---------------------------------------------------------------------------------------------

    async def test_enhancing_a_dark_frame_brightens_and_upscales_it(self, engine):
        rng = np.random.default_rng(0)
        dark = (rng.random((48, 64, 3)) * 40).astype(np.uint8)
        frame = VideoFrame(width=64, height=48, rgb=dark.tobytes())
        out = await engine.enhance_frame(frame, operations=["low_light", "denoise", "upscale2x", "sharpen"],
                                         timeout=T)
        assert (out.width, out.height) == (128, 96) and len(out.rgb) == 128 * 96 * 3
        assert np.frombuffer(out.rgb, np.uint8).mean() > dark.mean() + 10

    @pytest.mark.parametrize("frame, operations", [
        (VideoFrame(width=4, height=4, rgb=b"\0" * 47), ["sharpen"]),
        (VideoFrame(width=4, height=4, rgb=b"\0" * 48), ["paint"]),
        (VideoFrame(width=4, height=4, rgb=b"\0" * 48), []),
        (VideoFrame(width=0, height=4, rgb=b""), ["sharpen"]),
    ])
    async def test_frames_it_cannot_take_are_invalid_input(self, engine, frame, operations):
        with pytest.raises(InvalidInput):
            await engine.enhance_frame(frame, operations=operations, timeout=T)

    # -- catalogue and nodes -------------------------------------------------------------------------

    async def test_models_cover_every_offered_task_with_honest_names(self, engine):
        models = await engine.models()
        tasks = {m.task for m in models}
        assert tasks == set(Task) - {Task.SYNTHETIC_SPEECH_RISK}
        for m in models:
            assert m.version and m.description
            assert "deepfake" not in m.description.lower()
        emotion = next(m for m in models if m.task is Task.TEXT_EMOTION)
        assert "not emotion recognition from the voice" in emotion.description.lower()

    async def test_nodes_report_at_least_one_ready_node_serving_every_model(self, engine):
        nodes = await engine.nodes()
        ready = [n for n in nodes if n.ready]
        assert ready
        served = {name for n in ready for name in n.models_ready}
        assert {m.name for m in await engine.models()} <= served
