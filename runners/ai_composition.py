"""The analysis service's part of a composition root, shared by the all-in-one and ``runners.ai``.

The engine: the in-process one by default (``make run`` needs nothing installed), Triton when
``APP_TRITON_URLS`` names endpoints.  The store: MongoDB when ``APP_MONGO_URL`` is set (indexes made
at start), memory otherwise."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from adapters.inprocess.model_catalogue import EngineModelCatalogue
from adapters.memory.analysis import InMemoryAnalysisStore
from adapters.inprocess.recording_files import StoredRecordingFiles
from adapters.pyav.decoding import PyAvMediaDecoder
from domain.analysis.recording_analysis import RecordingAnalyser
from domain.analysis.rules import AnalysisLimits
from domain.analysis.service import AnalysisService
from ports.inference import InferenceEngine
from runners.mongo_stores import document_store
from runners.settings import Settings
from runners.workers.analysis import BoundedAnalysisQueue

log = logging.getLogger("runners.ai")


def analysis_limits(settings: Settings) -> AnalysisLimits:
    return AnalysisLimits(max_upload_bytes=settings.ai_max_upload_bytes,
                          max_duration_s=settings.ai_max_duration_seconds,
                          sync_max_duration_s=settings.ai_sync_max_seconds,
                          inference_timeout_s=settings.ai_inference_timeout,
                          submissions_per_minute=settings.ai_submissions_per_minute)


async def build_engine(settings: Settings) -> InferenceEngine:
    """Triton nodes when APP_TRITON_URLS names some (health-checked, balanced, failed over), else the
    in-process engine (models load on first use, so a process that never analyses never loads them)."""
    try:
        from runners.inference.wiring import open_engine  # the model code's imports stay out of other paths
    except ImportError as exc:  # the `ai` extra is not installed: everything else still serves
        from adapters.inprocess.unavailable_engine import UnavailableEngine

        log.warning("analysis models are not installed; AI routes answer 503", extra={"missing": exc.name})
        return UnavailableEngine(f"the analysis models are not installed here (pip install 'confero[ai]'; "
                                 f"missing {exc.name})")
    return await open_engine(settings)


@contextlib.asynccontextmanager
async def analysis_service(settings: Settings, container: Any,
                           engine: InferenceEngine | None = None) -> AsyncIterator[tuple[AnalysisService,
                                                                                         BoundedAnalysisQueue]]:
    """``engine`` replaces the configured one (tests give a fake)."""
    from runners.containers import resolve

    engine = engine if engine is not None else await build_engine(settings)
    queue = BoundedAnalysisQueue(concurrency=settings.ai_job_concurrency, backlog=settings.ai_job_backlog)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.close)
        store = await document_store(stack, settings, mongo=_mongo_analyses, memory=InMemoryAnalysisStore,
                                     holds="analysis results")
        stack.push_async_callback(queue.close, settings.shutdown_timeout)
        service = AnalysisService(
            store=store, engine=engine, catalogue=EngineModelCatalogue(engine), decoder=PyAvMediaDecoder(),
            meetings=await resolve(container.adapters.meetings), queue=queue,
            recordings=StoredRecordingFiles(await resolve(container.adapters.uow), await resolve(container.adapters.blobs)),
            uow=await resolve(container.adapters.uow), clock=await resolve(container.clock),
            limits=analysis_limits(settings), limiter=await resolve(container.adapters.attempts))
        yield service, queue


def with_recording_analysis(feed: Any, service: AnalysisService, settings: Settings) -> Any:
    """The domain-event feed, also handing each event to the recording analyser (a completed recording
    is transcribed and emotion-tagged in the analysis queue).  The analyser only queues work and never
    raises for a recording, so the other handlers of the feed are not held up or retried for it."""
    if not settings.ai_analyse_recordings:
        return feed
    analyser = RecordingAnalyser.of(service)

    async def run(handler: Any, stop: Any) -> None:
        async def both(event: Any) -> None:
            await handler(event)
            await analyser.on_event(event)

        await feed(both, stop)

    return run


def _mongo_analyses(db: Any) -> Any:
    from adapters.mongo.analysis import MongoAnalysisStore

    return MongoAnalysisStore(db)
