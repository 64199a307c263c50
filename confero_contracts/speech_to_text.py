"""Contract for ports.captions.SpeechToText (in process, over gRPC, yours).

The suite needs a ``harness`` fixture: ``speech`` (the adapter), ``meeting_id`` of a meeting whose
member ``speaker_id`` may be transcribed and ``outsider_id`` who is no member, and ``stop_ai()`` /
``start_ai()`` to make the speech model unreachable and reachable again.  The audio is a loud tone cut
by silences, so any model that hears sound gives text: the suite checks the stream's shape, order,
times and errors, not recognition quality (confero_contracts.inference does that).
"""

from __future__ import annotations

import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.captions.model import HeardText
from domain.shared.errors import DomainError, Unavailable

RATE = 16_000


def tone(seconds: float) -> bytes:
    return b"".join(struct.pack("<h", int(8000 * math.sin(i * 2 * math.pi * 220 / RATE)))
                    for i in range(int(seconds * RATE)))


def quiet(seconds: float) -> bytes:
    return bytes(2 * int(seconds * RATE))


async def chunks(*parts: bytes, size: int = 3200) -> AsyncIterator[bytes]:
    data = b"".join(parts)
    for i in range(0, len(data), size):
        yield data[i:i + size]


class SpeechToTextContract:
    @pytest.fixture
    async def harness(self) -> Any:
        raise NotImplementedError

    async def heard(self, harness: Any, audio: AsyncIterator[bytes], speaker: str | None = None) -> list[HeardText]:
        return [h async for h in harness.speech.transcribe_live(harness.meeting_id, speaker or harness.speaker_id,
                                                                audio)]

    async def test_windows_come_back_in_order_with_text_and_stream_times(self, harness):
        got = await self.heard(harness, chunks(tone(2.5), quiet(0.5), tone(2.5), quiet(0.5), tone(1.0)))
        assert [h.window for h in got] == list(range(len(got))) and len(got) >= 3
        assert all(h.text.strip() and h.final for h in got)
        starts = [h.start_s for h in got]
        assert starts == sorted(starts) and starts[0] == 0.0
        assert 2.5 <= starts[1] <= 3.0  # the first window was cut in the pause
        assert all(h.start_s < h.end_s <= 7.0 + 1e-6 for h in got)

    async def test_a_short_utterance_is_transcribed_when_its_audio_ends(self, harness):
        got = await self.heard(harness, chunks(tone(0.8), quiet(0.3)))
        assert len(got) == 1 and got[0].start_s == 0.0 and got[0].text.strip()

    async def test_an_unreachable_model_raises_unavailable(self, harness):
        await harness.stop_ai()
        with pytest.raises(Unavailable):
            await self.heard(harness, chunks(tone(1.0)))
        await harness.start_ai()
        assert len(await self.heard(harness, chunks(tone(1.0)))) == 1  # a new stream works again

    async def test_someone_who_is_not_a_member_is_refused_and_not_as_unavailable(self, harness):
        with pytest.raises(DomainError) as caught:
            await self.heard(harness, chunks(tone(1.0)), speaker=harness.outsider_id)
        assert not isinstance(caught.value, Unavailable)
