"""The gRPC AnalysisService in process (grpclib.testing.ChannelFor): answers, auth, and bad input as
status codes, never a crash."""

from __future__ import annotations

import asyncio
import math
import struct

import pytest
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError
from grpclib.testing import ChannelFor

from proto.confero.analysis import v1 as pb
from runners.rpc.errors import CheckedProtoCodec
from runners.rpc.servicer import AnalysisServicer
from tests.support.media_files import wav
from tests.unit.web_support import WebApi, web, web_factory  # noqa: F401  (fixtures)

SERVICE_TOKEN = "service-token-for-the-media-server-0123456789"


def pcm(seconds: float, loud: bool = True) -> bytes:
    return b"".join(struct.pack("<h", int((6000 if loud else 0) * math.sin(i / 5))) for i in range(int(seconds * 16_000)))


async def chunks(data: bytes, *, meeting_id: str = "", acting_user_id: str = "", rate: int = 16_000, size: int = 6400):
    for i in range(0, len(data), size):
        first = i == 0
        yield pb.AudioChunk(pcm=data[i:i + size], sample_rate=rate, meeting_id=meeting_id if first else "",
                            acting_user_id=acting_user_id if first else "")


@pytest.fixture
async def rpc(web: WebApi):
    servicer = AnalysisServicer(web.services.analysis, web.services.users, (SERVICE_TOKEN,))
    async with ChannelFor([servicer], codec=CheckedProtoCodec()) as channel:
        yield channel


def stub(channel, who=None, service: bool = False) -> pb.AnalysisServiceStub:
    metadata = {"x-service-token": SERVICE_TOKEN} if service else (
        {"authorization": f"Bearer {who.access}"} if who else None)
    return pb.AnalysisServiceStub(channel, metadata=metadata)


async def status_of(call) -> Status:
    with pytest.raises(GRPCError) as caught:
        await call
    return caught.value.status


async def test_text_is_analysed_and_labelled_honestly(web, rpc):
    me = await web.user()
    got = await stub(rpc, me).submit(pb.SubmitRequest(kind=pb.Kind.TEXT_EMOTION, text=pb.TextInput(texts=["so glad"])))
    assert got.status == pb.Status.COMPLETED and got.label == "transcript-based emotion tagging"
    assert '"joy"' in got.result_json and got.requested_by == me.id
    again = await stub(rpc, me).get_analysis(pb.AnalysisRef(id=got.id))
    assert again.id == got.id and again.created_at == got.created_at


async def test_an_uploaded_file_is_transcribed(web, rpc):
    me = await web.user()
    got = await stub(rpc, me).submit(pb.SubmitRequest(kind=pb.Kind.TRANSCRIPTION,
                                                      file=pb.MediaFile(data=wav(1.5), media_type="audio/wav")))
    assert '"word0 word1"' in got.result_json and got.model == "fake-transcription" and got.confidence == 0.9


async def test_a_denoised_output_is_fetched(web, rpc):
    me = await web.user()
    got = await stub(rpc, me).submit(pb.SubmitRequest(kind=pb.Kind.DENOISE, method="rnnoise",
                                                      file=pb.MediaFile(data=wav(0.5))))
    out = await stub(rpc, me).get_output(pb.AnalysisRef(id=got.id))
    assert got.has_output and out.media_type == "audio/wav" and out.data.startswith(b"RIFF")


async def test_calls_without_valid_credentials_are_unauthenticated(web, rpc):
    request = pb.SubmitRequest(kind=pb.Kind.TEXT_SENTIMENT, text=pb.TextInput(texts=["x"]))
    assert await status_of(stub(rpc).submit(request)) == Status.UNAUTHENTICATED
    bad = pb.AnalysisServiceStub(rpc, metadata={"authorization": "Bearer not-a-token"})
    assert await status_of(bad.submit(request)) == Status.UNAUTHENTICATED
    wrong = pb.AnalysisServiceStub(rpc, metadata={"x-service-token": "guess"})
    assert await status_of(wrong.list_models(pb.ListModelsRequest())) == Status.UNAUTHENTICATED


async def test_a_service_acts_for_the_user_it_names_and_must_name_one(web, rpc):
    me = await web.user()
    request = pb.SubmitRequest(kind=pb.Kind.TEXT_SENTIMENT, text=pb.TextInput(texts=["glad"]))
    assert await status_of(stub(rpc, service=True).submit(request)) == Status.INVALID_ARGUMENT
    request.acting_user_id = me.id
    assert (await stub(rpc, service=True).submit(request)).requested_by == me.id
    other = await web.user()
    assert await status_of(stub(rpc, other).submit(request)) == Status.PERMISSION_DENIED  # users act for themselves


@pytest.mark.parametrize("request_", [
    pb.SubmitRequest(text=pb.TextInput(texts=["no kind"])),
    pb.SubmitRequest(kind=pb.Kind.TRANSCRIPTION),
    pb.SubmitRequest(kind=pb.Kind.TRANSCRIPTION, text=pb.TextInput(texts=["text is not audio"])),
    pb.SubmitRequest(kind=pb.Kind.TRANSCRIPTION, file=pb.MediaFile(data=b"\x00garbage" * 50)),
    pb.SubmitRequest(kind=pb.Kind.TRANSCRIPTION, file=pb.MediaFile(data=b"")),
    pb.SubmitRequest(kind=pb.Kind.TEXT_SENTIMENT, text=pb.TextInput(texts=["x"]), meeting_id="nope"),
    pb.SubmitRequest(kind=99, text=pb.TextInput(texts=["x"])),  # type: ignore[arg-type]
    pb.SubmitRequest(kind=pb.Kind.DENOISE, method="magic", file=pb.MediaFile(data=wav(0.2))),
])
async def test_bad_requests_are_invalid_argument(web, rpc, request_):
    me = await web.user()
    assert await status_of(stub(rpc, me).submit(request_)) == Status.INVALID_ARGUMENT


async def test_unknown_ids_are_not_found_and_malformed_ids_invalid(web, rpc):
    me = await web.user()
    s = stub(rpc, me)
    assert await status_of(s.get_analysis(pb.AnalysisRef(id="00000000-0000-4000-8000-000000000000"))) == Status.NOT_FOUND
    assert await status_of(s.get_analysis(pb.AnalysisRef(id="x"))) == Status.INVALID_ARGUMENT
    assert await status_of(s.list_meeting_analyses(pb.ListMeetingAnalysesRequest(
        meeting_id="00000000-0000-4000-8000-000000000000"))) == Status.NOT_FOUND
    assert await status_of(s.submit(pb.SubmitRequest(kind=pb.Kind.TRANSCRIPTION, recording=pb.RecordingFile(
        recording_id="r", file_key="k")))) == Status.NOT_FOUND
    text = await s.submit(pb.SubmitRequest(kind=pb.Kind.TEXT_SENTIMENT, text=pb.TextInput(texts=["x"])))
    assert await status_of(s.get_output(pb.AnalysisRef(id=text.id))) == Status.NOT_FOUND


async def test_a_meetings_media_is_refused_to_outsiders(web, rpc):
    host, outsider = await web.user(), await web.user()
    meeting = (await web.meeting(host))["id"]
    request = pb.SubmitRequest(kind=pb.Kind.TEXT_SENTIMENT, text=pb.TextInput(texts=["x"]), meeting_id=meeting)
    assert (await stub(rpc, host).submit(request)).meeting_id == meeting
    assert await status_of(stub(rpc, outsider).submit(request)) == Status.PERMISSION_DENIED
    page = await stub(rpc, host).list_meeting_analyses(pb.ListMeetingAnalysesRequest(meeting_id=meeting))
    assert page.total == 1
    assert await status_of(stub(rpc, outsider).list_meeting_analyses(
        pb.ListMeetingAnalysesRequest(meeting_id=meeting))) == Status.PERMISSION_DENIED


async def test_no_ready_node_is_unavailable_and_nodes_say_so(web, rpc):
    me = await web.user()
    web.services.analysis.engine.ready = False
    request = pb.SubmitRequest(kind=pb.Kind.TEXT_SENTIMENT, text=pb.TextInput(texts=["x"]))
    assert await status_of(stub(rpc, me).submit(request)) == Status.UNAVAILABLE
    assert (await stub(rpc, me).list_nodes(pb.ListNodesRequest())).ready is False


async def test_the_deadline_of_the_client_ends_a_slow_call(web, rpc):
    me = await web.user()
    web.services.analysis.engine.gate = asyncio.Event()  # never set: the engine hangs
    request = pb.SubmitRequest(kind=pb.Kind.TEXT_SENTIMENT, text=pb.TextInput(texts=["x"]))
    with pytest.raises((GRPCError, TimeoutError)) as caught:  # the client's own deadline usually fires first
        await stub(rpc, me).submit(request, timeout=0.2)
    assert not isinstance(caught.value, GRPCError) or caught.value.status == Status.DEADLINE_EXCEEDED


async def test_a_malformed_message_is_invalid_argument(web, rpc):
    me = await web.user()

    class Garbage:
        def SerializeToString(self) -> bytes:  # noqa: N802  (the codec's protocol)
            return b"\xff\xff\xff\xff\x0f\x01"

    async with rpc.request("/confero.analysis.v1.AnalysisService/Submit", Cardinality.UNARY_UNARY, Garbage,
                           pb.Analysis, metadata={"authorization": f"Bearer {me.access}"}) as stream:
        await stream.send_message(Garbage(), end=True)
        with pytest.raises(GRPCError) as caught:
            await stream.recv_message()
    assert caught.value.status == Status.INVALID_ARGUMENT


async def test_models_are_listed_with_versions(web, rpc):
    me = await web.user()
    found = await stub(rpc, me).list_models(pb.ListModelsRequest())
    assert {m.task for m in found.items} >= {pb.Kind.TRANSCRIPTION, pb.Kind.DENOISE}
    assert all(m.version for m in found.items)


async def test_stream_transcribe_returns_the_whole_transcript_with_stream_times(web, rpc):
    me = await web.user()
    audio = pcm(2.5) + pcm(0.5, loud=False) + pcm(2.0)
    got = await stub(rpc, me).stream_transcribe(chunks(audio))
    assert got.text and got.window_end_s == pytest.approx(5.0, abs=0.01)
    assert got.segments[0].start_s == 0.0 and max(s.end_s for s in got.segments) > 3.0


async def test_stream_captions_answers_each_window_as_it_is_cut(web, rpc):
    me = await web.user()
    audio = pcm(2.5) + pcm(0.5, loud=False) + pcm(2.0)
    got = [t async for t in stub(rpc, me).stream_captions(chunks(audio))]
    assert len(got) == 2 and got[0].window_start_s == 0.0 and got[1].window_start_s >= 2.5


async def test_bad_streams_are_invalid_argument_or_permission_denied(web, rpc):
    host, outsider = await web.user(), await web.user()
    meeting = (await web.meeting(host))["id"]
    s = stub(rpc, host)
    assert await status_of(s.stream_transcribe(chunks(pcm(0.5), rate=8000))) == Status.INVALID_ARGUMENT
    assert await status_of(s.stream_transcribe(chunks(b""))) == Status.INVALID_ARGUMENT
    assert await status_of(s.stream_transcribe(chunks(b"\x00" * 3, size=3))) == Status.INVALID_ARGUMENT
    assert await status_of(stub(rpc, outsider).stream_transcribe(
        chunks(pcm(0.5), meeting_id=meeting))) == Status.PERMISSION_DENIED
    assert (await s.stream_transcribe(chunks(pcm(0.5), meeting_id=meeting))).text


async def test_a_domain_error_names_its_class_in_the_trailers(web, rpc):
    from adapters.grpc import wire
    from domain.analysis.errors import AnalysisNotFound

    me = await web.user()
    async with rpc.request("/confero.analysis.v1.AnalysisService/GetAnalysis", Cardinality.UNARY_UNARY,
                           pb.AnalysisRef, pb.Analysis, metadata={"authorization": f"Bearer {me.access}"}) as stream:
        await stream.send_message(pb.AnalysisRef(id="00000000-0000-4000-8000-000000000000"), end=True)
        with pytest.raises(GRPCError) as caught:
            await stream.recv_message()
    err = wire.from_grpc(caught.value.status, caught.value.message, dict(stream.trailing_metadata or {}))
    assert type(err) is AnalysisNotFound
