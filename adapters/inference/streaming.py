"""Live captions on top of any engine's ``transcribe``: one window at a time, the last text as prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from domain.analysis.inference import PcmAudio, Transcription

Transcribe = Callable[..., Awaitable[Transcription]]


async def transcribe_windows(transcribe: Transcribe, windows: AsyncIterator[PcmAudio], *,
                             timeout: float) -> AsyncIterator[Transcription]:
    prompt = ""
    async for window in windows:
        result = await transcribe(window, prompt=prompt, timeout=timeout)
        # Whisper reads the prompt as what was said just before: a few hundred characters suffice.
        prompt = (prompt + " " + result.text).strip()[-400:]
        yield result
