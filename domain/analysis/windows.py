"""Live audio cut into windows for a model that is not streaming (Whisper): 2-5 s, cut at a pause.

A window closes at the first quiet stretch (``pause_s`` below ``quiet_rms``) once it is ``min_s`` long,
or at ``max_s`` whatever is said; the rest of the stream's audio starts the next window.  The end of
the input flushes what is left.  Pure Python on 16-bit samples: no numeric library in the domain."""

from __future__ import annotations

import array
import math
import sys
from collections.abc import AsyncIterator

from attrs import frozen

from domain.analysis.errors import InvalidInput
from domain.analysis.inference import PcmAudio


@frozen(kw_only=True)
class Window:
    start_s: float
    audio: PcmAudio


def _rms(samples: bytes) -> float:
    a = array.array("h")
    a.frombytes(samples)
    if sys.byteorder == "big":
        a.byteswap()
    return math.sqrt(sum(x * x for x in a) / len(a)) if a else 0.0


async def windows(chunks: AsyncIterator[bytes], *, sample_rate: int = 16_000, min_s: float = 2.0,
                  max_s: float = 5.0, pause_s: float = 0.3, quiet_rms: float = 300.0,
                  max_chunk_bytes: int = 1 << 20) -> AsyncIterator[Window]:
    bytes_per_s = 2 * sample_rate
    pause = int(pause_s * sample_rate) * 2
    buf, start_s = bytearray(), 0.0
    async for chunk in chunks:
        if len(chunk) % 2:
            raise InvalidInput("PCM chunks hold whole 16-bit samples", reason="wrong_format")
        if len(chunk) > max_chunk_bytes:
            raise InvalidInput("an audio chunk is too large", reason="too_large", limit=max_chunk_bytes)
        buf += chunk
        while len(buf) >= min_s * bytes_per_s:
            cut = _cut_at(buf, bytes_per_s, min_s, max_s, pause, quiet_rms)
            if cut is None:
                break
            yield Window(start_s=start_s, audio=PcmAudio(samples=bytes(buf[:cut]), sample_rate=sample_rate))
            start_s += cut / bytes_per_s
            del buf[:cut]
    if buf:
        yield Window(start_s=start_s, audio=PcmAudio(samples=bytes(buf), sample_rate=sample_rate))


def _cut_at(buf: bytearray, bytes_per_s: int, min_s: float, max_s: float, pause: int, quiet: float) -> int | None:
    """Where to end the window in ``buf`` (bytes), or None to wait for more audio."""
    at = int(min_s * bytes_per_s) // 2 * 2
    limit = min(len(buf), int(max_s * bytes_per_s) // 2 * 2)
    while at + pause <= limit:
        if _rms(bytes(buf[at:at + pause])) < quiet:
            return at + pause
        at += pause
    return limit if len(buf) >= int(max_s * bytes_per_s) else None
