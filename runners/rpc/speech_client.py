"""SpeechToText over the AI service's ``StreamCaptions`` rpc (grpclib): the media server's side when the
AI service runs in another process.  It lives with the other translations of the generated messages
(adapters never import ``proto``).

Each utterance is one call, authenticated with a service token (``x-service-token``) and naming the
speaker as ``acting_user_id`` in its first chunk, with a deadline over the whole call.  A server that
cannot be reached, a deadline, a broken connection or a refused service token raise Unavailable (the
room is told captions are unavailable); the server's other refusals come back as the domain's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from domain.captions.model import HeardText
from domain.shared.errors import DomainError, InvalidArgument, NotFound, PermissionDenied, RateLimited, Unavailable
from domain.shared.ids import MeetingId, UserId
from proto.confero.analysis import v1 as pb

RATE = 16_000
REFUSALS: dict[Status, type[DomainError]] = {
    Status.INVALID_ARGUMENT: InvalidArgument, Status.NOT_FOUND: NotFound,
    Status.PERMISSION_DENIED: PermissionDenied, Status.FAILED_PRECONDITION: DomainError,
    Status.RESOURCE_EXHAUSTED: RateLimited}


def heard(window: int, t: pb.Transcript) -> HeardText:
    scores = [s.confidence for s in t.segments]
    return HeardText(window=window, start_s=t.window_start_s, end_s=max(t.window_end_s, t.window_start_s),
                     text=t.text, final=True, confidence=sum(scores) / len(scores) if scores else None)


def domain_error(err: GRPCError) -> DomainError:
    kind = REFUSALS.get(err.status, Unavailable)
    return kind(f"the AI service answered {err.status.name}: {err.message or ''}".strip(), status=err.status.name)


class GrpcSpeechToText:
    def __init__(self, host: str, port: int, service_token: str, *, deadline: float = 300.0) -> None:
        self._channel = Channel(host, port)
        self._stub = pb.AnalysisServiceStub(self._channel, metadata={"x-service-token": service_token})
        self._deadline = deadline

    async def transcribe_live(self, meeting_id: MeetingId, speaker_id: UserId,
                              audio: AsyncIterator[bytes]) -> AsyncIterator[HeardText]:
        async def chunks() -> AsyncIterator[pb.AudioChunk]:
            first = True
            async for pcm in audio:
                yield pb.AudioChunk(pcm=pcm, sample_rate=RATE, meeting_id=meeting_id if first else "",
                                    acting_user_id=speaker_id if first else "")
                first = False

        window = 0
        try:
            async for t in self._stub.stream_captions(chunks(), timeout=self._deadline):
                yield heard(window, t)
                window += 1
        except GRPCError as err:
            raise domain_error(err) from None
        except (OSError, asyncio.TimeoutError, StreamTerminatedError, ProtocolError) as exc:
            raise Unavailable(f"the AI service cannot be reached ({type(exc).__name__})") from None

    async def close(self) -> None:
        self._channel.close()
