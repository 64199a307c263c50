"""One member's audio track in a captioned room: the tap, its decoding task, and one speech-to-text
stream per utterance.

The tap (``observe``) is one of ``PublishedTrack.observers``: it runs in the forwarding path, so it only
stamps the Opus frame with its arrival time and offers it to a bounded queue; a full queue drops the
frame (counted).  The task decodes, resamples to 16 kHz and passes the audio through ``SpeechGate``:
an utterance opens a stream (``SpeechToText.transcribe_live``), its audio is sent with its pauses, and
the utterance's end (``end_silence_s`` of silence) ends the stream, so the AI side transcribes the last
window at once.  Long silences are never sent.  Audio for a stream waits in a second bounded queue;
when speech-to-text does not keep up, chunks are dropped (counted), never queued without bound.

Times: a HeardText's seconds count the audio sent on its stream.  ``StreamTimes`` maps them back to
when that audio arrived (an anchor per discontinuity: the stream's start, dropped chunks), so captions
carry wall-clock times even when audio was left out.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable

from adapters.pyav.opus_pcm import RATE, OpusToPcm
from adapters.webrtc.assembly import EncodedFrame
from adapters.webrtc.caption_health import CaptionHealth, WallClock, quietly
from adapters.webrtc.forwarding import PublishedTrack
from adapters.webrtc.speech_gate import Piece, SpeechGate
from domain.captions.model import Caption, HeardText
from domain.shared.errors import DomainError, Unavailable
from domain.shared.ids import MeetingId, UserId
from ports.captions import CaptionSink, SpeechToText

log = logging.getLogger(__name__)
BYTES_PER_S = 2 * RATE
JUMP_S = 0.25  # arrival this far from where the stream's clock puts it: a new anchor


class StreamTimes:
    """Seconds of a stream's audio -> arrival time (monotonic seconds) of that audio."""

    def __init__(self) -> None:
        self._offsets: list[float] = []
        self._arrivals: list[float] = []
        self.sent_s = 0.0

    def sent(self, seconds: float, arrival: float) -> None:
        if not self._offsets or abs(arrival - self.arrival(self.sent_s)) > JUMP_S:
            self._offsets.append(self.sent_s)
            self._arrivals.append(arrival)
        self.sent_s += seconds

    def arrival(self, offset_s: float) -> float:
        i = max(bisect.bisect_right(self._offsets, offset_s) - 1, 0)
        return self._arrivals[i] + offset_s - self._offsets[i]


class _Stream:
    def __init__(self, max_chunks: int, opened_at: float) -> None:
        self.id = uuid.uuid4()
        self.opened_at = opened_at
        self.times = StreamTimes()
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()  # bounded by ``offer``, so None always fits
        self._max = max_chunks
        self.dropped = 0
        self.task: asyncio.Task[None] | None = None

    def offer(self, pcm: bytes, arrival: float) -> None:
        if self._queue.qsize() >= self._max:
            self.dropped += 1
            return
        self._queue.put_nowait(pcm)
        self.times.sent(len(pcm) / BYTES_PER_S, arrival)

    def end(self) -> None:
        self._queue.put_nowait(None)

    async def chunks(self) -> AsyncIterator[bytes]:
        """What has come since the last read, as one chunk (20 ms frames batched under load)."""
        while True:
            first = await self._queue.get()
            if first is None:
                return
            parts = [first]
            while not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    yield b"".join(parts)
                    return
                parts.append(more)
            yield b"".join(parts)


class SpeakerCaptions:
    def __init__(self, room_id: MeetingId, user_id: UserId, track: PublishedTrack, speech: SpeechToText,
                 sink: CaptionSink, health: CaptionHealth, clock: WallClock, *, queue_frames: int = 250,
                 stream_chunks: int = 1500, gate: Callable[[], SpeechGate] = SpeechGate,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.room_id, self.user_id, self.track = room_id, user_id, track
        self._speech, self._sink, self._health, self._clock = speech, sink, health, clock
        self._queue: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue(queue_frames)
        self._stream_chunks = stream_chunks
        self._gate = gate()
        self._monotonic = monotonic
        self._current: _Stream | None = None
        self.streams: set[asyncio.Task[None]] = set()
        self.frames = self.dropped = self.dropped_unavailable = self.streams_opened = 0
        self._stream_drops = 0
        track.observers.append(self.observe)
        self._task = asyncio.create_task(self._run(), name=f"captions-{room_id}-{user_id}")

    @property
    def dropped_slow(self) -> int:
        """Audio chunks speech-to-text did not take in time (all streams so far)."""
        return self._stream_drops + (self._current.dropped if self._current else 0)

    def observe(self, frame: EncodedFrame) -> None:
        codec = self.track.codec
        if codec is not None and codec.name.lower() != "opus":
            return
        try:
            self._queue.put_nowait((frame.data, self._monotonic()))
            self.frames += 1
        except asyncio.QueueFull:
            self.dropped += 1

    def follow(self, track: PublishedTrack) -> None:
        """The member's connection restarted (docs/signaling.md 13.12): its audio goes on as ``track``.  The
        queue, decoder, gate and the stream of the utterance in progress carry on (Opus needs no
        keyframe: a decoder takes a new encoder's packets, at worst with a click)."""
        if self.observe in self.track.observers:
            self.track.observers.remove(self.observe)
        self.track = track
        track.observers.append(self.observe)

    async def close(self, *, graceful: bool) -> None:
        """Stops the tap.  ``graceful``: the utterance in progress is still transcribed (a member who
        left); otherwise every stream is cancelled at once (captions turned off)."""
        if self.observe in self.track.observers:
            self.track.observers.remove(self.observe)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if graceful:
            self._end_stream()
        else:
            for task in list(self.streams):
                task.cancel()
        await asyncio.gather(*list(self.streams), return_exceptions=True)

    async def _run(self) -> None:
        decoder = OpusToPcm()
        while True:
            data, at = await self._queue.get()
            try:
                for piece in self._gate.push(decoder.decode(data), at):
                    self._piece(piece)
            except Exception:  # one bad frame must not end the member's captions
                self.dropped += 1
                log.exception("captions: a frame could not be processed",
                              extra={"room_id": self.room_id, "user_id": self.user_id})

    def _piece(self, piece: Piece) -> None:
        if piece.kind == "end":
            self._end_stream()
        elif piece.kind == "audio":
            if self._current is None and self._health.may_try():
                self._open()
            if self._current is not None:
                self._current.offer(piece.pcm, piece.at)
            else:
                self.dropped_unavailable += 1

    def _open(self) -> None:
        stream = self._current = _Stream(self._stream_chunks, self._monotonic())
        self.streams_opened += 1
        stream.task = asyncio.create_task(self._transcribe(stream), name=f"captions-stream-{stream.id}")
        self.streams.add(stream.task)
        stream.task.add_done_callback(self.streams.discard)

    def _end_stream(self) -> None:
        if self._current is not None:
            self._current.end()
            self._stream_drops += self._current.dropped
            self._current = None

    def _abandon(self, stream: _Stream) -> None:
        if self._current is stream:  # the rest of the utterance goes to a new stream, when one works
            self._stream_drops += stream.dropped
            self._current = None

    async def _transcribe(self, stream: _Stream) -> None:
        try:
            async for heard in self._speech.transcribe_live(self.room_id, self.user_id, stream.chunks()):
                await self._health.worked(stream.opened_at)
                if heard.text.strip():
                    await quietly(self._sink.heard(self._caption(stream, heard)), "a caption was not delivered")
            await self._health.worked(stream.opened_at)
        except Unavailable as err:
            self._abandon(stream)
            await self._health.failed(str(err) or type(err).__name__)
        except DomainError as err:  # refused (e.g. too many streams): this utterance goes without captions
            self._abandon(stream)
            log.warning("captions: speech-to-text refused a stream: %s", err,
                        extra={"room_id": self.room_id, "user_id": self.user_id})
        except Exception as exc:  # an adapter's bug: taken as unavailable, so members know and it is retried
            self._abandon(stream)
            log.exception("captions: speech-to-text failed unexpectedly",
                          extra={"room_id": self.room_id, "user_id": self.user_id})
            await self._health.failed(f"internal error ({type(exc).__name__})")

    def _caption(self, stream: _Stream, heard: HeardText) -> Caption:
        return Caption(id=str(uuid.uuid5(stream.id, str(heard.window))), meeting_id=self.room_id,
                       speaker_id=self.user_id, text=heard.text.strip(), final=heard.final,
                       start_at=self._clock.wall(stream.times.arrival(heard.start_s)),
                       end_at=self._clock.wall(stream.times.arrival(max(heard.end_s, heard.start_s))))

