"""Stand-ins for the captioner's neighbours: a SpeechToText that records what it was sent, and a
CaptionSink that records what it was told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from domain.captions.model import Caption, HeardText
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, UserId


class FakeSpeech:
    """One final HeardText per stream, when its audio ends, covering all of it.  ``down`` makes new
    streams raise Unavailable; ``gate`` (when set) holds every stream before it reads any audio."""

    def __init__(self) -> None:
        self.streams: list[list[bytes]] = []
        self.speakers: list[UserId] = []
        self.attempts = 0
        self.open = 0
        self.down = False
        self.gate: asyncio.Event | None = None

    async def transcribe_live(self, meeting_id: MeetingId, speaker_id: UserId,
                              audio: AsyncIterator[bytes]) -> AsyncIterator[HeardText]:
        self.attempts += 1
        if self.down:
            raise Unavailable("the AI service is down (test)")
        received: list[bytes] = []
        self.streams.append(received)
        self.speakers.append(speaker_id)
        self.open += 1
        try:
            if self.gate is not None:
                await self.gate.wait()
            async for chunk in audio:
                received.append(chunk)
            seconds = sum(map(len, received)) / 32_000
            yield HeardText(window=0, start_s=0.0, end_s=seconds, text=f"{seconds:.2f} seconds")
        finally:
            self.open -= 1

    def seconds(self, stream: int) -> float:
        return sum(map(len, self.streams[stream])) / 32_000


class FakeSink:
    def __init__(self) -> None:
        self.captions: list[Caption] = []
        self.told_unavailable: list[tuple[MeetingId, str]] = []
        self.told_resumed: list[MeetingId] = []

    async def heard(self, caption: Caption) -> None:
        self.captions.append(caption)

    async def unavailable(self, room_id: MeetingId, reason: str) -> None:
        self.told_unavailable.append((room_id, reason))

    async def resumed(self, room_id: MeetingId) -> None:
        self.told_resumed.append(room_id)
