"""The model set: every model loaded on first use, called with domain values.  Both the in-process
engine and the Triton model server (runners/inference) call exactly this code."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from adapters.inference import pcm
from adapters.inference.catalogue import SYNTHETIC_SPEECH_REFUSAL
from domain.analysis.errors import FeatureNotOffered, InferenceUnavailable, InvalidInput
from domain.analysis.inference import LabelScore, PcmAudio, Segment, Transcription, VideoFrame

T = TypeVar("T")
MAX_TEXTS, MAX_TEXT_CHARS = 256, 5000


class ModelSet:
    def __init__(self, *, asr_threads: int = 2) -> None:
        self._asr_threads = asr_threads
        self._loaded: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _get(self, name: str, factory: Callable[[], T]) -> T:
        # One lock per model: loading Whisper must not hold up a sentiment call.
        if name in self._loaded:
            return self._loaded[name]  # type: ignore[no-any-return]
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._loaded:
                try:
                    self._loaded[name] = factory()
                except (ImportError, OSError) as error:
                    # A model whose package is absent is an unavailable model, not a crash of the call.
                    raise InferenceUnavailable(f"model {name} cannot be loaded: {error}", reason="not_installed",
                                               model=name) from error
        return self._loaded[name]  # type: ignore[no-any-return]

    def warm_up(self, names: Sequence[str] = ("asr", "sentiment", "emotion", "deepfilternet", "rnnoise", "video")) -> None:
        for name in names:
            getattr(self, f"_{name}")()

    def _asr(self):  # type: ignore[no-untyped-def]
        from adapters.inference.asr import WhisperAsr
        return self._get("asr", lambda: WhisperAsr(self._asr_threads))

    def _sentiment(self):  # type: ignore[no-untyped-def]
        from adapters.inference.sentiment import VaderSentiment
        return self._get("sentiment", VaderSentiment)

    def _emotion(self):  # type: ignore[no-untyped-def]
        from adapters.inference.emotion import PrototypeEmotionTagger
        return self._get("emotion", PrototypeEmotionTagger)

    def _deepfilternet(self):  # type: ignore[no-untyped-def]
        from adapters.inference.denoise import DeepFilterNet
        return self._get("deepfilternet", DeepFilterNet)

    def _rnnoise(self):  # type: ignore[no-untyped-def]
        from adapters.inference.denoise import RnNoise
        return self._get("rnnoise", RnNoise)

    def _video(self):  # type: ignore[no-untyped-def]
        from adapters.inference.video import FrameEnhancer
        return self._get("video", FrameEnhancer)

    # -- the models, on domain values ------------------------------------------------------------------

    def transcribe(self, audio: PcmAudio, prompt: str = "") -> Transcription:
        pcm.check_audio(audio, pcm.ASR_RATE, what="transcription")
        found = self._asr().transcribe(pcm.to_float(audio), prompt[-800:])
        return Transcription(language="en", segments=tuple(
            Segment(start_s=round(a, 3), end_s=round(b, 3), text=t, confidence=round(c, 4)) for a, b, t, c in found))

    def text_sentiment(self, texts: Sequence[str]) -> list[LabelScore]:
        check_texts(texts)
        return [LabelScore(label=label, score=round(score, 4)) for label, score in self._sentiment().polarity(list(texts))]

    def text_emotion(self, texts: Sequence[str]) -> list[tuple[LabelScore, ...]]:
        check_texts(texts)
        return [tuple(LabelScore(label=label, score=round(score, 4)) for label, score in tags)
                for tags in self._emotion().tag(list(texts))]

    def vocal_arousal(self, audio: PcmAudio, baseline: PcmAudio | None = None) -> dict[str, float]:
        from adapters.inference import arousal

        pcm.check_audio(audio, pcm.ASR_RATE, what="vocal arousal")
        clip = arousal.indicators(pcm.to_float(audio))
        if baseline is None:
            return arousal.relative(clip, clip)
        pcm.check_audio(baseline, pcm.ASR_RATE, what="the arousal baseline")
        return arousal.relative(clip, arousal.indicators(pcm.to_float(baseline)))

    def synthetic_speech_risk(self, audio: PcmAudio) -> float:
        raise FeatureNotOffered(SYNTHETIC_SPEECH_REFUSAL, reason="no_validated_detector")

    def denoise(self, audio: PcmAudio, method: str) -> PcmAudio:
        from adapters.inference.denoise import METHODS

        if method not in METHODS:
            raise InvalidInput(f"denoise method must be one of {', '.join(METHODS)}", reason="unknown_method")
        pcm.check_audio(audio, pcm.DENOISE_RATE, what="denoising")
        model = self._deepfilternet() if method == "deepfilternet" else self._rnnoise()
        return pcm.from_float(model.process(pcm.to_float(audio)), pcm.DENOISE_RATE)

    def enhance_frame(self, frame: VideoFrame, operations: Sequence[str]) -> VideoFrame:
        from adapters.inference.video import OPERATIONS

        unknown = sorted(set(operations) - set(OPERATIONS))
        if unknown or not operations:
            raise InvalidInput(f"operations must be a non-empty subset of {', '.join(OPERATIONS)}",
                               reason="unknown_operation", unknown=unknown)
        pcm.check_frame(frame)
        rgb = np.frombuffer(frame.rgb, np.uint8).reshape(frame.height, frame.width, 3)
        out = self._video().enhance(rgb, list(operations))
        return VideoFrame(width=out.shape[1], height=out.shape[0], rgb=out.tobytes())


def check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise InvalidInput("texts must be a list of strings", reason="not_text")
    if not texts:
        raise InvalidInput("no text to analyse", reason="empty")
    if len(texts) > MAX_TEXTS:
        raise InvalidInput(f"at most {MAX_TEXTS} texts per call", reason="too_many")
    for text in texts:
        if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
            raise InvalidInput(f"each text is a string of at most {MAX_TEXT_CHARS} characters", reason="too_long")
