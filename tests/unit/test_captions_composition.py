"""The captions factories: speech-to-text in process or over gRPC as the setting says, bad settings
refused with the setting's name, and the captioner built on the SFU with its sizes."""

from __future__ import annotations

import pytest

from adapters.inprocess.speech import InProcessSpeechToText
from adapters.webrtc.caption_tap import AiortcRoomCaptioner
from runners.captions_media import aiortc_room_captioner, speech_to_text
from runners.rpc.speech_client import GrpcSpeechToText
from tests.support.analysis_world import analysis_world
from tests.support.caption_fakes import FakeSink, FakeSpeech


def test_in_process_speech_to_text_uses_the_analysis_service():
    assert isinstance(speech_to_text("inprocess", analysis=analysis_world().service), InProcessSpeechToText)


async def test_grpc_speech_to_text_needs_a_service_token():
    speech = speech_to_text("grpc", host="ai", port=9084, service_token="t" * 32)
    assert isinstance(speech, GrpcSpeechToText)
    await speech.close()
    with pytest.raises(ValueError, match="APP_CAPTIONS_SERVICE_TOKEN"):
        speech_to_text("grpc", host="ai", port=9084)


def test_unknown_modes_and_a_missing_ai_service_are_refused_by_setting_name():
    with pytest.raises(ValueError, match="APP_CAPTIONS_SPEECH"):
        speech_to_text("cloud")
    with pytest.raises(ValueError, match="APP_CAPTIONS_SPEECH=inprocess"):
        speech_to_text("inprocess")


async def test_the_captioner_watches_the_sfu():
    from adapters.webrtc.sfu import AiortcMediaServer

    class Signals:
        async def to_member(self, *a): pass
        async def active_speaker(self, *a): pass

    media = AiortcMediaServer(Signals())  # type: ignore[arg-type]
    captioner = aiortc_room_captioner(media, FakeSpeech(), FakeSink(), tap_queue_s=2.0)
    assert isinstance(captioner, AiortcRoomCaptioner) and captioner in media.watchers
    await captioner.close()
    assert captioner not in media.watchers
    await media.close()
