"""The media server's captioner and the speech-to-text it streams to, as the adapter families compose
them.  The wiring passes settings as explicit arguments (APP_CAPTIONS_*, see each parameter):

- ``speech_to_text``: ``mode`` (APP_CAPTIONS_SPEECH) ``inprocess`` uses this process's AnalysisService
  (the all-in-one); ``grpc`` calls the AI service's StreamCaptions at ``host``:``port``
  (APP_CAPTIONS_AI_HOST, APP_CAPTIONS_AI_PORT) with ``service_token`` (APP_CAPTIONS_SERVICE_TOKEN, one of
  the AI service's APP_AI_SERVICE_TOKENS) and a ``deadline`` per utterance (APP_CAPTIONS_STREAM_DEADLINE).
- ``aiortc_room_captioner``: ``end_silence_s`` (APP_CAPTIONS_END_SILENCE), ``tap_queue_s``
  (APP_CAPTIONS_TAP_QUEUE_SECONDS), ``stream_buffer_s`` (APP_CAPTIONS_STREAM_BUFFER_SECONDS),
  ``retry_max_s`` (APP_CAPTIONS_RETRY_MAX).
"""

from __future__ import annotations

from adapters.inprocess.speech import InProcessSpeechToText
from adapters.webrtc.caption_tap import AiortcRoomCaptioner
from adapters.webrtc.sfu import AiortcMediaServer
from domain.analysis.service import AnalysisService
from ports.captions import CaptionSink, SpeechToText
from runners.rpc.speech_client import GrpcSpeechToText

FRAME_S = 0.02  # one Opus packet (the tap's queue) or one 20 ms chunk (a stream's buffer)
SPEECH_MODES = ("inprocess", "grpc")


def speech_to_text(mode: str, *, analysis: AnalysisService | None = None, host: str = "127.0.0.1",
                   port: int = 9084, service_token: str = "", deadline: float = 300.0) -> SpeechToText:
    if mode == "inprocess":
        if analysis is None:
            raise ValueError("APP_CAPTIONS_SPEECH=inprocess needs the AI service in this process")
        return InProcessSpeechToText(analysis)
    if mode == "grpc":
        if not service_token:
            raise ValueError("APP_CAPTIONS_SPEECH=grpc needs APP_CAPTIONS_SERVICE_TOKEN")
        return GrpcSpeechToText(host, port, service_token, deadline=deadline)
    raise ValueError(f"APP_CAPTIONS_SPEECH must be one of {', '.join(SPEECH_MODES)}, got {mode!r}")


def aiortc_room_captioner(media: AiortcMediaServer, speech: SpeechToText, sink: CaptionSink, *,
                          end_silence_s: float = 0.8, tap_queue_s: float = 5.0, stream_buffer_s: float = 30.0,
                          retry_max_s: float = 10.0) -> AiortcRoomCaptioner:
    return AiortcRoomCaptioner(media, speech, sink, end_silence_s=end_silence_s,
                               queue_frames=max(1, round(tap_queue_s / FRAME_S)),
                               stream_chunks=max(1, round(stream_buffer_s / FRAME_S)), retry_max=retry_max_s)
