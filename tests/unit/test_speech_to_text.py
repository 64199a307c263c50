"""Both SpeechToText adapters pass the contract: in process over the analysis service, and over gRPC
to a real grpclib server of ours (the AI service's servicer on a local port), both on the fake engine."""

from __future__ import annotations

import pytest
from attrs import define
from grpclib.server import Server

from adapters.inprocess.speech import InProcessSpeechToText
from confero_contracts.speech_to_text import SpeechToTextContract, chunks, tone
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, UserId, new_id
from ports.captions import SpeechToText
from runners.rpc.errors import CheckedProtoCodec
from runners.rpc.servicer import AnalysisServicer
from runners.rpc.speech_client import GrpcSpeechToText
from tests.support.analysis_world import AnalysisWorld, analysis_world
from tests.support.process import free_port

TOKEN = "media-server-token-0123456789abcdef"


@define
class Harness:
    speech: SpeechToText
    world: AnalysisWorld
    meeting_id: MeetingId
    speaker_id: UserId
    outsider_id: UserId

    async def stop_ai(self) -> None:
        self.world.engine.ready = False

    async def start_ai(self) -> None:
        self.world.engine.ready = True


async def harness_for(world: AnalysisWorld, speech: SpeechToText) -> Harness:
    host, speaker = UserId(new_id()), UserId(new_id())
    meeting = await world.meeting(members=(host, speaker))
    return Harness(speech, world, meeting.id, speaker, UserId(new_id()))


class TestInProcessSpeechToText(SpeechToTextContract):
    @pytest.fixture
    async def harness(self):
        world = analysis_world()
        return await harness_for(world, InProcessSpeechToText(world.service))


async def grpc_server(world: AnalysisWorld) -> tuple[Server, int]:
    server = Server([AnalysisServicer(world.service, None, (TOKEN,))], codec=CheckedProtoCodec())  # type: ignore[arg-type]
    port = free_port()
    await server.start("127.0.0.1", port)
    return server, port


class TestGrpcSpeechToText(SpeechToTextContract):
    @pytest.fixture
    async def harness(self):
        world = analysis_world()
        server, port = await grpc_server(world)
        speech = GrpcSpeechToText("127.0.0.1", port, TOKEN, deadline=30)
        try:
            yield await harness_for(world, speech)
        finally:
            await speech.close()
            server.close()
            await server.wait_closed()


async def test_a_server_that_is_not_there_is_unavailable():
    speech = GrpcSpeechToText("127.0.0.1", free_port(), TOKEN, deadline=5)
    with pytest.raises(Unavailable):
        [h async for h in speech.transcribe_live(MeetingId(new_id()), UserId(new_id()), chunks(tone(0.5)))]
    await speech.close()


async def test_a_wrong_service_token_is_unavailable_so_members_are_told():
    world = analysis_world()
    server, port = await grpc_server(world)
    speech = GrpcSpeechToText("127.0.0.1", port, "not-the-token", deadline=5)
    try:
        h = await harness_for(world, speech)
        with pytest.raises(Unavailable):
            [x async for x in speech.transcribe_live(h.meeting_id, h.speaker_id, chunks(tone(0.5)))]
    finally:
        await speech.close()
        server.close()
        await server.wait_closed()
