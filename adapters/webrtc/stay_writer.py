"""One member's stay in a recorded room: its taps, the WebM muxer fed from their queue, the uploads.

The writer task is the only consumer of the taps' queue; it muxes (no decode) and, every
``upload_interval``, hands the new bytes to the uploader task, which puts them as the next chunk
object.  An upload that fails is retried (back-off up to ``MAX_BACKOFF``) while the stay goes on,
so a store outage delays the chunks but loses nothing acknowledged; ``finish`` waits for them at
most ``finish_timeout`` and then builds the file from what the store has (``stored.finish_stay``).

The muxer is created at the first video keyframe (its size goes into the header) or, for a stay
without video, at the first frame; audio that comes before is held meanwhile (at most
``HOLD_S``, after which the file starts with the default size).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from adapters.webm import stored
from adapters.webm.muxer import MediaPacket, WebmMuxer, vp8_size
from adapters.webrtc.forwarding import PublishedTrack
from adapters.webrtc.recording_tap import StayClock, TrackTap
from domain.recordings.media import RecordedFile
from ports.blobs import BlobStore

log = logging.getLogger(__name__)
QUEUE = 500  # frames (~4 s of one member's audio and video) between the forwarding path and the muxer
HOLD_S = 2.0
MAX_BACKOFF = 5.0


class StayWriter:
    def __init__(self, blobs: BlobStore, key_prefix: str, user_id: str, stay: int, *,
                 upload_interval: float = 2.0, finish_timeout: float = 30.0, queue_size: int = QUEUE,
                 clock: StayClock | None = None) -> None:
        self.blobs, self.key_prefix, self.user_id, self.stay = blobs, key_prefix, user_id, stay
        self.upload_interval = upload_interval
        self.finish_timeout = finish_timeout
        self.clock = clock or StayClock()
        self.queue: asyncio.Queue[MediaPacket | None] = asyncio.Queue(queue_size)
        self.taps: list[TrackTap] = []
        self.muxer: WebmMuxer | None = None
        self._held: list[MediaPacket] = []
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._uploaded = 0
        self._writer = asyncio.create_task(self._write(), name=f"recording-writer-{user_id}-{stay}")
        self._uploader = asyncio.create_task(self._upload(), name=f"recording-upload-{user_id}-{stay}")
        self._finished: asyncio.Future[RecordedFile | None] | None = None

    def add_track(self, published: PublishedTrack) -> None:
        if any(t.published is published for t in self.taps) or self._finished is not None:
            return
        tap = TrackTap(published, self.clock, self.queue)
        self.taps.append(tap)
        tap.attach()

    def continue_track(self, previous: PublishedTrack, published: PublishedTrack) -> bool:
        """``published`` goes on where ``previous`` stopped (a restarted connection, docs/signaling.md
        13.12): its frames join ``previous``'s in this stay.  False if no tap of this stay is on ``previous``."""
        tap = next((t for t in self.taps if t.published is previous), None)
        if tap is None or self._finished is not None:
            return False
        tap.follow(published)
        return True

    @property
    def gaps(self) -> int:
        return sum(t.gaps for t in self.taps)

    # -- writing -----------------------------------------------------------------------------------

    async def _write(self) -> None:
        last_upload = time.monotonic()
        while (packet := await self.queue.get()) is not None:
            try:
                self._mux(packet)
            except Exception:  # one bad packet must not end the stay's recording
                log.exception("recording: a packet could not be written", extra={"user_id": self.user_id})
            if self.muxer is not None and time.monotonic() - last_upload >= self.upload_interval:
                last_upload = time.monotonic()
                self._ship(self.muxer.take())
        if self.muxer is None and self._held:
            self._open(None)
        if self.muxer is not None:
            self._ship(self.muxer.close())
            if self.muxer.clamped:  # the taps' stamps went back: a bug, the file has frames squeezed together
                log.warning("recording: packets were out of order in their track",
                            extra={"user_id": self.user_id, "clamped": self.muxer.clamped})

    def _mux(self, packet: MediaPacket) -> None:
        if self.muxer is None:
            kinds = {t.kind for t in self.taps}
            size = vp8_size(packet.data) if packet.kind == "video" else None
            if size is not None or "video" not in kinds or (
                    self._held and packet.pts_ms - self._held[0].pts_ms > HOLD_S * 1000):
                self._open(size)
            else:
                self._held.append(packet)
                return
        assert self.muxer is not None
        self.muxer.write(packet)

    def _open(self, size: tuple[int, int] | None) -> None:
        kinds = {t.kind for t in self.taps}
        self.muxer = WebmMuxer(video="video" in kinds, audio="audio" in kinds, size=size)
        held, self._held = self._held, []
        for packet in held:
            self.muxer.write(packet)

    def _ship(self, data: bytes) -> None:
        if data:
            self._chunks.put_nowait(data)

    # -- uploading ---------------------------------------------------------------------------------

    async def _upload(self) -> None:
        first = True
        while (data := await self._chunks.get()) is not None:
            if first:
                assert self.clock.started_at is not None
                await self._retrying(stored.stay_prefix(self.key_prefix, self.user_id, self.stay) + "stay.json",
                                     stored.stay_document(self.user_id, self.clock.started_at), stored.JSON)
                first = False
            self._uploaded += 1
            await self._retrying(stored.chunk_key(self.key_prefix, self.user_id, self.stay, self._uploaded),
                                 data, stored.WEBM)

    async def _retrying(self, key: str, data: bytes, content_type: str) -> None:
        delay = 0.2
        while True:
            try:
                await self.blobs.put(key, data, content_type)
                return
            except Exception as exc:
                log.warning("recording: upload failed, retrying", extra={"key": key, "error": repr(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    # -- the end -----------------------------------------------------------------------------------

    async def finish(self) -> RecordedFile | None:
        """Stop the taps, write and upload the rest, make the finished file.  Idempotent."""
        if self._finished is None:
            self._finished = asyncio.ensure_future(self._finish())
        return await asyncio.shield(self._finished)

    async def _finish(self) -> RecordedFile | None:
        for tap in self.taps:
            tap.detach()
        while True:  # the sentinel must get in even if the writer has fallen behind
            try:
                self.queue.put_nowait(None)
                break
            except asyncio.QueueFull:
                self.queue.get_nowait()
        try:
            await self._writer
        except Exception:  # the tail may be lost; what was uploaded still makes the file
            log.exception("recording: the writer failed at the end", extra={"user_id": self.user_id})
        self._chunks.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._uploader), self.finish_timeout)
        except asyncio.TimeoutError:
            log.error("recording: chunks still not uploaded; the file ends at the last one stored",
                      extra={"user_id": self.user_id})
            self._uploader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._uploader
        return await stored.finish_stay(self.blobs, self.key_prefix, self.user_id, self.stay)

    async def abandon(self) -> None:
        """Process shutdown without finishing: what was uploaded stays for ``recover``."""
        for tap in self.taps:
            tap.detach()
        for task in (self._writer, self._uploader):
            task.cancel()
        await asyncio.gather(self._writer, self._uploader, return_exceptions=True)
