"""Live captions on top of any engine's ``transcribe``: one window at a time, the last text as prompt.

The stream's windows are read ahead (up to ``read_ahead``) while one is transcribed, so the speaker's
audio keeps flowing in while the model works; windows are transcribed in order, each at its turn of the
process's ``FairScheduler`` (fair between the streams of all speakers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from adapters.inference.fair import FairScheduler
from domain.analysis.inference import PcmAudio, Transcription

Transcribe = Callable[..., Awaitable[Transcription]]
_END = object()


async def transcribe_windows(transcribe: Transcribe, windows: AsyncIterator[PcmAudio], *, timeout: float,
                             scheduler: FairScheduler | None = None,
                             read_ahead: int = 8) -> AsyncIterator[Transcription]:
    turns = scheduler or FairScheduler(1)
    pending: asyncio.Queue[object] = asyncio.Queue(read_ahead)

    async def read() -> None:
        try:
            async for window in windows:
                await pending.put(window)
        except Exception as exc:  # the client's stream broke or sent bad audio: raised in order
            await pending.put(exc)
        else:
            await pending.put(_END)

    reader = asyncio.create_task(read())
    prompt = ""
    try:
        while (item := await pending.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            assert isinstance(item, PcmAudio)
            async with turns.turn(reader):
                result = await transcribe(item, prompt=prompt, timeout=timeout)
            # Whisper reads the prompt as what was said just before: a few hundred characters suffice.
            prompt = (prompt + " " + result.text).strip()[-400:]
            yield result
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
