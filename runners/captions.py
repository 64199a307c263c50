"""Live captions' part of a composition root (the all-in-one and the production processes alike).

- The transcript store: MongoDB when ``APP_MONGO_URL`` is set (as the analysis store; index made at
  start), memory otherwise.
- Speech-to-text (runners/captions_media.py): the AI service composed in this process
  (``APP_CAPTIONS_SPEECH=inprocess``, the all-in-one), or the AI service's gRPC StreamCaptions
  (``grpc``: ``APP_CAPTIONS_AI_HOST``/``_PORT`` with ``APP_CAPTIONS_SERVICE_TOKEN``).
- The room captioner: a tap on this process's SFU (adapters/webrtc/caption_tap.py), delivering to the
  captions use case (domain/captions/service.py), which is its CaptionSink.

``APP_CAPTIONS_ENABLED=false`` composes nothing (``Services.captions`` is None): hosts are told captions
are unavailable, room_state says so.  With it on, nothing runs until a host turns captions on in a
meeting: the tap only decodes audio of captioned rooms."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from adapters.memory.captions import InMemoryTranscriptStore
from domain.analysis.service import AnalysisService
from domain.captions.service import CaptionService
from runners.mongo_stores import document_store
from runners.settings import Settings

log = logging.getLogger("runners.captions")


@contextlib.asynccontextmanager
async def caption_service(settings: Settings, container: Any,
                          analysis: AnalysisService | None) -> AsyncIterator[CaptionService | None]:
    """The captions use case with its store, speech-to-text and this process's captioner; stops every
    caption tap and closes what it opened on the way out."""
    from runners.containers import resolve

    if not settings.captions_enabled:
        yield None
        return
    async with contextlib.AsyncExitStack() as stack:
        store = await document_store(stack, settings, mongo=_mongo_transcripts, memory=InMemoryTranscriptStore,
                                     holds="meeting transcripts")
        service = CaptionService(transcripts=store, bus=await resolve(container.adapters.signal_bus),
                                 meetings=await resolve(container.adapters.meetings),
                                 captioned=await resolve(container.captioned_meetings),
                                 users=await resolve(container.user_directory))
        try:
            from runners.captions_media import aiortc_room_captioner, speech_to_text
            from runners.media import in_process
        except ImportError as exc:  # a build without the media tap or the models: the rest still serves
            log.warning("captions: no caption tap in this build; captions stay unavailable",
                        extra={"missing": exc.name})
        else:
            media = await resolve(container.adapters.media)
            if not in_process(media):  # the SFU is on a media node: so is the tap (runners/media_node)
                captioner = node_captioner(media, service, settings)
                if captioner is None:
                    log.warning("captions: this process's media server has no caption tap; captions stay "
                                "unavailable here")
                else:
                    stack.push_async_callback(captioner.close)
                    service.captioner = captioner
                yield service
                return
            speech = speech_to_text(settings.captions_speech, analysis=analysis, host=settings.captions_ai_host,
                                    port=settings.captions_ai_port, service_token=settings.captions_service_token,
                                    deadline=settings.captions_stream_deadline)
            close_speech = getattr(speech, "close", None)
            if close_speech is not None:
                stack.push_async_callback(close_speech)
            captioner = aiortc_room_captioner(
                media, speech, service,
                end_silence_s=settings.captions_end_silence, tap_queue_s=settings.captions_tap_queue_seconds,
                stream_buffer_s=settings.captions_stream_buffer_seconds, retry_max_s=settings.captions_retry_max)
            stack.push_async_callback(captioner.close)  # every tap and stream of every room ends
            service.captioner = captioner
        yield service


def node_captioner(media: Any, sink: CaptionService, settings: Settings) -> Any:
    """The caption tap of the media node ``media`` is (GrpcMediaServer), over its channel; with media nodes
    (PlacedMediaServer) the tap of the node each room is placed on, over that node's channel; else None."""
    from adapters.grpc.captioner import GrpcRoomCaptioner
    from adapters.grpc.media import GrpcMediaServer
    from adapters.inprocess.placed_media import PlacedMediaServer
    from runners.rpc.clients import call_policy
    from runners.rpc.server import service_secrets

    def on(channel: Any) -> GrpcRoomCaptioner:
        return GrpcRoomCaptioner(channel, sink, token=service_secrets(settings)[0], policy=call_policy(settings),
                                 stream_deadline=settings.captions_stream_deadline,
                                 retry_max=settings.captions_retry_max)

    if isinstance(media, GrpcMediaServer):
        return on(media.channel)
    if isinstance(media, PlacedMediaServer):
        from adapters.inprocess.placed_recording import PlacedRoomCaptioner

        return PlacedRoomCaptioner(media, lambda node, client: on(client.channel))  # type: ignore[attr-defined]
    return None


def with_captions(feed: Any, service: CaptionService | None) -> Any:
    """The domain-event feed of the signaling task, also handing each event to the captions use case (a
    deleted meeting's transcript goes with it).  Idempotent, like the feed's other handlers."""
    if service is None:
        return feed

    async def run(handler: Any, stop: Any) -> None:
        async def both(event: Any) -> None:
            await handler(event)
            await service.on_event(event)

        await feed(both, stop)

    return run


def _mongo_transcripts(db: Any) -> Any:
    from adapters.mongo.captions import MongoTranscriptStore

    return MongoTranscriptStore(db)
