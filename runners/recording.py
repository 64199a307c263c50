"""Composition of recording: the blob store for the settings, the placeholder recorder, and the
background work (meeting events that stop recordings, crash recovery at start, processing at stop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiohttp import web

from adapters.localfs.blobs import LocalDirectoryBlobStore
from adapters.s3.blobs import open_s3_blob_store
from domain.recordings.media import RecordedFile
from domain.recordings.service import RecordingService
from domain.shared.errors import DomainError, Unavailable
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, RecordingId
from ports.blobs import BlobStore
from runners.settings import Settings

log = logging.getLogger(__name__)


async def blob_store(settings: Settings) -> AsyncIterator[BlobStore]:
    """S3 when ``APP_S3_ENDPOINT`` is set, else the directory ``APP_RECORDINGS_DIR`` (a DI Resource)."""
    if settings.s3_endpoint:
        async with open_s3_blob_store(endpoint=settings.s3_endpoint, bucket=settings.s3_bucket,
                                      region=settings.s3_region, access_key=settings.s3_access_key,
                                      secret_key=settings.s3_secret_key) as store:
            log.info("recordings go to S3", extra={"endpoint": settings.s3_endpoint, "bucket": settings.s3_bucket})
            yield store
    else:
        yield LocalDirectoryBlobStore(settings.recordings_dir)


class UnconfiguredRecorder:
    """Stands in for the media server's recorder and processor until one is composed: starting a
    recording is refused with Unavailable, so no recording claims to run without media behind it."""

    async def start(self, recording_id: RecordingId, room_id: MeetingId, key_prefix: str) -> None:
        raise Unavailable("recorder not configured")

    async def stop(self, recording_id: RecordingId) -> list[RecordedFile]:
        return []

    async def recover(self, recording_id: RecordingId, key_prefix: str) -> list[RecordedFile]:
        raise Unavailable("recorder not configured")

    async def recording(self) -> list[RecordingId]:
        return []

    async def compose(self, files: Sequence[RecordedFile], out_key: str,
                      progress: Callable[[float], Awaitable[None]]) -> RecordedFile:
        raise Unavailable("recorder not configured")


Handler = Callable[[DomainEvent], Awaitable[None]]
Feed = Callable[[Handler, asyncio.Event], Awaitable[None]]


def with_recordings(feed: Feed, service: RecordingService) -> Feed:
    """The domain-event feed of the signaling task, also handing each event to the recording service
    (a meeting's end stops its recording).  One feed, one consumer group: both handlers are idempotent,
    so an event retried because one of them failed does no harm to the other."""
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        async def both(event: DomainEvent) -> None:
            await handler(event)
            await service.on_event(event)

        await feed(both, stop)

    return run


HEARTBEAT_SECONDS = 5.0  # a quarter of the service's lease: three heartbeats may fail before others take over


def recording_worker(service: RecordingService, recover: bool, timeout: float = 10.0,
                     heartbeat: float = HEARTBEAT_SECONDS) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx (when a real recorder is composed): recover what a stopped process left, renew the
    leases of the recordings this process runs, recover again now and again (a crashed process's
    recordings are taken over once their lease ran out), and let running processing jobs finish at
    shutdown."""
    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_keep(service, heartbeat), name="recordings-leases") if recover else None
        yield
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(service.drain(), timeout)

    return run


async def _recover(service: RecordingService) -> None:
    try:
        done = await service.recover_unfinished()
        if done:
            log.info("recordings recovered", extra={"recordings": [r.id for r in done]})
    except DomainError as err:
        log.warning("recording recovery failed; it runs again at the next start", extra={"error": err.code})


async def _keep(service: RecordingService, heartbeat: float) -> None:
    rounds = max(1, round(service.lease.total_seconds() / heartbeat))
    done = 0
    while True:
        try:
            if done % rounds == 0:
                await _recover(service)
            await asyncio.sleep(heartbeat)
            await service.heartbeat()
        except Exception:  # the loop must outlive one bad round: a lease not renewed is a recording lost
            log.exception("recording heartbeat or recovery failed")
        done += 1
