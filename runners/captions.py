"""Live captions' part of a composition root (the all-in-one and the production processes alike).

- The transcript store: MongoDB when ``APP_MONGO_URL`` is set (as the analysis store; index made at
  start), memory otherwise.
- Speech-to-text: the AI service over gRPC when ``APP_CAPTIONS_AI_ADDRESS`` names it (with the service
  token ``APP_CAPTIONS_AI_TOKEN``), else the AI service composed in this process.
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
from ports.captions import CaptionSink, RoomCaptioner, SpeechToText
from runners.settings import AdapterFamily, Settings

log = logging.getLogger("runners.captions")


def speech_to_text(settings: Settings, analysis: AnalysisService | None) -> SpeechToText | None:
    """gRPC to the AI service when configured, else the AI service of this process (None without one)."""
    if settings.captions_ai_address:
        from runners.rpc.speech_client import GrpcSpeechToText

        host, _, port = settings.captions_ai_address.rpartition(":")
        return GrpcSpeechToText(host, int(port), settings.captions_ai_token,  # type: ignore[no-any-return]
                                deadline=settings.captions_stream_deadline)
    if analysis is None:
        return None
    from adapters.inprocess.speech import InProcessSpeechToText

    return InProcessSpeechToText(analysis)  # type: ignore[no-any-return]


def room_captioner(media: Any, speech: SpeechToText, sink: CaptionSink) -> RoomCaptioner:
    from adapters.webrtc.caption_tap import AiortcRoomCaptioner

    return AiortcRoomCaptioner(media, speech, sink)  # type: ignore[no-any-return]


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
        if settings.mongo_url:
            from adapters.mongo.captions import MongoTranscriptStore
            from adapters.mongo.client import open_database

            db = await stack.enter_async_context(open_database(settings.mongo_url, settings.mongo_database))
            store: Any = MongoTranscriptStore(db)
            await store.create_indexes()
        else:
            if settings.adapters is AdapterFamily.PRODUCTION:
                log.warning("APP_MONGO_URL is not set: meeting transcripts live in this process's memory only")
            store = InMemoryTranscriptStore()
        service = CaptionService(transcripts=store, bus=await resolve(container.adapters.signal_bus),
                                 meetings=await resolve(container.adapters.meetings),
                                 users=await resolve(container.adapters.users))
        try:
            speech = speech_to_text(settings, analysis)
            if speech is None:
                log.warning("captions: no speech-to-text in this process; captions stay unavailable")
            else:
                close = getattr(speech, "close", None)
                if close is not None:
                    stack.push_async_callback(close)
                service.captioner = room_captioner(await resolve(container.adapters.media), speech, service)
        except ImportError as exc:  # a build without the media tap: the rest of captions still serves
            log.warning("captions: the SFU's caption tap is not available", extra={"missing": exc.name})
        if service.captioner is not None:
            stack.push_async_callback(_stop_all, service.captioner)
        yield service


async def _stop_all(captioner: RoomCaptioner) -> None:
    for room_id in await captioner.captioning():
        try:
            await captioner.stop(room_id)
        except Exception:
            log.exception("stopping a room's captions failed", extra={"room_id": room_id})


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
