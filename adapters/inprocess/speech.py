"""SpeechToText in the same process as the AI service: ``AnalysisService.stream_transcription``, acting
for the speaker (as the gRPC server acts for the user a service names), each window's transcript as one
final HeardText."""

from __future__ import annotations

from collections.abc import AsyncIterator

from domain.analysis.service import AnalysisService, Caption
from domain.captions.model import HeardText
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId


def heard(window: int, caption: Caption) -> HeardText:
    segments = caption.transcription.segments
    return HeardText(window=window, start_s=caption.start_s,
                     end_s=caption.start_s + max((s.end_s for s in segments), default=0.0),
                     text=caption.transcription.text, final=True,
                     confidence=sum(s.confidence for s in segments) / len(segments) if segments else None)


class InProcessSpeechToText:
    def __init__(self, service: AnalysisService) -> None:
        self._service = service

    async def transcribe_live(self, meeting_id: MeetingId, speaker_id: UserId,
                              audio: AsyncIterator[bytes]) -> AsyncIterator[HeardText]:
        window = 0
        async for caption in self._service.stream_transcription(Actor(speaker_id), meeting_id, audio):
            yield heard(window, caption)
            window += 1
