"""AnalysisService over gRPC: each call authenticates, translates, calls the use case, translates back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from grpclib.const import Handler, Status
from grpclib.exceptions import GRPCError

from domain.analysis.commands import SubmitAnalysis
from domain.analysis.model import InputSource
from domain.analysis.service import AnalysisService, Caption
from domain.shared.errors import DomainError
from domain.shared.ids import AnalysisId, MeetingId, RecordingId, UserId, is_valid_id
from domain.shared.pagination import MAX_PAGE_SIZE, PageRequest
from domain.users.service import UserService
from proto.confero.analysis import v1 as pb
from runners.rpc import convert
from runners.rpc.auth import CALLER, acting, authenticate
from runners.rpc.guard import send_domain_error

SAMPLE_RATE = 16_000


def _invalid(message: str) -> GRPCError:
    return GRPCError(Status.INVALID_ARGUMENT, f"invalid_request: {message}")


def _id(value: str, name: str, required: bool = True) -> str | None:
    if not value and not required:
        return None
    if not is_valid_id(value):
        raise _invalid(f"{name} is not a valid id")
    return value


class AnalysisServicer(pb.AnalysisServiceBase):
    def __init__(self, service: AnalysisService, users: UserService, service_tokens: tuple[str, ...] = (),
                 max_chunk_bytes: int = 4 * 1024 * 1024) -> None:
        self._service, self._users, self._tokens = service, users, service_tokens
        self._max_chunk = max_chunk_bytes

    def __mapping__(self) -> dict[str, Handler]:
        """Every method authenticates first (the generated handlers never see the call's metadata)."""
        return {name: Handler(self._authenticated(h.func), h.cardinality, h.request_type, h.reply_type)
                for name, h in super().__mapping__().items()}

    def _authenticated(self, func: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        async def handler(stream: Any) -> None:
            token = CALLER.set(await authenticate(stream.metadata, self._users, self._tokens))
            try:
                await func(stream)
            except DomainError as err:  # its status, and its class in the trailers (docs/grpc.md)
                await send_domain_error(stream, err)
            finally:
                CALLER.reset(token)
        return handler

    async def submit(self, submit_request: pb.SubmitRequest) -> pb.Analysis:
        r = submit_request
        actor = acting(r.acting_user_id)
        kind = convert.kind_from_pb(r.kind)
        if kind is None:
            raise _invalid("kind is required")
        which, value = _input_of(r)
        common: dict[str, Any] = dict(
            kind=kind, meeting_id=MeetingId(m) if (m := _id(r.meeting_id, "meeting_id", False)) else None,
            participant_id=UserId(p) if (p := _id(r.participant_id, "participant_id", False)) else None,
            options={k: v for k, v in (("method", r.method), ("operations", list(r.operations)),
                                       ("prompt", r.prompt)) if v})
        if which == "file":
            cmd = SubmitAnalysis(source=InputSource.UPLOAD, data=value.data, media_type=value.media_type[:255],
                                 filename=value.filename[:255] or None, **common)
        elif which == "recording":
            cmd = SubmitAnalysis(source=InputSource.RECORDING, recording_id=RecordingId(value.recording_id),
                                 file_key=value.file_key, **common)
        elif which == "text":
            cmd = SubmitAnalysis(source=InputSource.TEXT, texts=tuple(value.texts), **common)
        else:
            raise _invalid("one input is required: file, recording or text")
        return convert.analysis(await self._service.submit(actor, cmd))

    async def get_analysis(self, analysis_ref: pb.AnalysisRef) -> pb.Analysis:
        actor = acting(analysis_ref.acting_user_id)
        job_id = _id(analysis_ref.id, "id")
        return convert.analysis(await self._service.get(actor, AnalysisId(job_id or "")))

    async def get_output(self, analysis_ref: pb.AnalysisRef) -> pb.Output:
        actor = acting(analysis_ref.acting_user_id)
        data, media_type, name = await self._service.output(actor, AnalysisId(_id(analysis_ref.id, "id") or ""))
        return pb.Output(data=data, media_type=media_type, filename=name)

    async def list_meeting_analyses(self, request: pb.ListMeetingAnalysesRequest) -> pb.AnalysisPage:
        actor = acting(request.acting_user_id)
        if request.offset < 0 or not 0 <= request.limit <= MAX_PAGE_SIZE:
            raise _invalid(f"offset >= 0 and limit 0-{MAX_PAGE_SIZE}")
        page = PageRequest(offset=request.offset, limit=request.limit or 20)
        found = await self._service.list_for_meeting(actor, MeetingId(_id(request.meeting_id, "meeting_id") or ""),
                                                     page)
        return convert.page(found)

    async def list_models(self, list_models_request: pb.ListModelsRequest) -> pb.ModelList:
        return convert.models(await self._service.models())

    async def list_nodes(self, list_nodes_request: pb.ListNodesRequest) -> pb.NodeList:
        return convert.nodes(await self._service.nodes())

    async def stream_transcribe(self, audio_chunk_iterator: AsyncIterator[pb.AudioChunk]) -> pb.Transcript:
        captions: list[Caption] = []
        seconds = [0.0]
        async for c in self._captions(audio_chunk_iterator, seconds):
            captions.append(c)
        return convert.transcript(captions, seconds[0])

    async def stream_captions(self, audio_chunk_iterator: AsyncIterator[pb.AudioChunk]) -> AsyncIterator[pb.Transcript]:
        async for c in self._captions(audio_chunk_iterator, [0.0]):
            yield convert.caption(c)

    async def _captions(self, chunks: AsyncIterator[pb.AudioChunk], seconds: list[float]) -> AsyncIterator[Caption]:
        """The first chunk says whose audio it is (meeting, acting user); every chunk is 16 kHz PCM."""
        first = await anext(aiter(chunks), None)
        if first is None:
            raise _invalid("the stream held no audio")
        actor = acting(first.acting_user_id)
        meeting_id = _id(first.meeting_id, "meeting_id", required=False)

        async def pcm() -> AsyncIterator[bytes]:
            chunk: pb.AudioChunk | None = first
            rest = aiter(chunks)
            while chunk is not None:
                if chunk.sample_rate != SAMPLE_RATE:
                    raise _invalid(f"wrong_rate: send {SAMPLE_RATE} Hz mono 16-bit PCM (got {chunk.sample_rate})")
                if len(chunk.pcm) > self._max_chunk:
                    raise _invalid(f"an audio chunk holds at most {self._max_chunk} bytes")
                seconds[0] += len(chunk.pcm) / 2 / SAMPLE_RATE
                yield chunk.pcm
                chunk = await anext(rest, None)

        async for c in self._service.stream_transcription(actor, MeetingId(meeting_id) if meeting_id else None,
                                                          pcm(), metered=not CALLER.get().service):
            yield c


def _input_of(r: pb.SubmitRequest) -> tuple[str, Any]:
    import betterproto

    return betterproto.which_one_of(r, "input")
