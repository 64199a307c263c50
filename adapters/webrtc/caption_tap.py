"""``AiortcRoomCaptioner``: the RoomCaptioner port (ports/captions.py) on the aiortc SFU.

Like the recorder, it watches the SFU (``AiortcMediaServer.watchers``): in a captioned room every audio
track a member publishes, now or later, gets a ``SpeakerCaptions`` (the tap, decoding, VAD and one
speech-to-text stream per utterance: adapters/webrtc/speaker_captions.py).  A member who leaves ends
their taps; the utterance they were in is still transcribed.  A member who restarts its connection in
place (docs/signaling.md 13.12) keeps its tap, stream and utterance: the tap moves to the new track.
``stop`` cancels every tap and stream of the room at once.  Whether speech-to-text works is kept per room (``CaptionHealth``): members are told
once when it fails and once when it is back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Callable

from attrs import define, field

from adapters.webrtc.caption_health import CaptionHealth, WallClock
from adapters.webrtc.forwarding import PublishedTrack
from adapters.webrtc.sfu import AiortcMediaServer
from adapters.webrtc.speaker_captions import SpeakerCaptions
from adapters.webrtc.speech_gate import SpeechGate
from domain.shared.ids import MeetingId, UserId
from ports.captions import CaptionSink, SpeechToText


@define
class _Room:
    health: CaptionHealth
    taps: dict[tuple[UserId, str], SpeakerCaptions] = field(factory=dict)
    leaving: dict[SpeakerCaptions, asyncio.Task[None]] = field(factory=dict)  # transcribing a last utterance


class AiortcRoomCaptioner:
    def __init__(self, media: AiortcMediaServer, speech: SpeechToText, sink: CaptionSink, *,
                 queue_frames: int = 250, stream_chunks: int = 1500, end_silence_s: float = 0.8,
                 retry_initial: float = 1.0, retry_max: float = 10.0,
                 wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.media, self.speech, self.sink = media, speech, sink
        self._queue_frames, self._stream_chunks = queue_frames, stream_chunks
        self._gate = functools.partial(SpeechGate, end_silence_s=end_silence_s)
        self._retry = (retry_initial, retry_max)
        self._clock = WallClock(wall, monotonic)
        self._monotonic = monotonic
        self._rooms: dict[MeetingId, _Room] = {}
        media.watchers.append(self)

    # -- the port ----------------------------------------------------------------------------------

    async def start(self, room_id: MeetingId) -> None:
        if room_id in self._rooms:
            return
        room = self._rooms[room_id] = _Room(CaptionHealth(room_id, self.sink, initial=self._retry[0],
                                                          maximum=self._retry[1], monotonic=self._monotonic))
        sfu_room = self.media.rooms.get(room_id)
        if sfu_room is not None:
            for user_id, peer in list(sfu_room.peers.items()):
                for track in list(peer.published.values()):
                    self._add(room_id, room, user_id, track)

    async def stop(self, room_id: MeetingId) -> None:
        room = self._rooms.pop(room_id, None)
        if room is not None:
            taps = [*room.taps.values(), *room.leaving]
            await asyncio.gather(*(tap.close(graceful=False) for tap in taps), *room.leaving.values(),
                                 return_exceptions=True)

    async def captioning(self) -> list[MeetingId]:
        return list(self._rooms)

    def stats(self) -> dict[str, int]:
        """Counters over the open taps (logs, tests, the benchmark)."""
        taps = [t for r in self._rooms.values() for t in r.taps.values()]
        return {"taps": len(taps), "frames": sum(t.frames for t in taps), "dropped": sum(t.dropped for t in taps),
                "dropped_unavailable": sum(t.dropped_unavailable for t in taps),
                "dropped_slow": sum(t.dropped_slow for t in taps),
                "streams": sum(t.streams_opened for t in taps)}

    async def close(self) -> None:
        """Process shutdown: every tap and stream ends now."""
        for room_id in list(self._rooms):
            await self.stop(room_id)
        if self in self.media.watchers:
            self.media.watchers.remove(self)

    # -- the SFU's side ----------------------------------------------------------------------------

    def track_published(self, room_id: MeetingId, user_id: UserId, track: PublishedTrack) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            self._add(room_id, room, user_id, track)

    def member_left(self, room_id: MeetingId, user_id: UserId) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        for key in [k for k in room.taps if k[0] == user_id]:
            tap = room.taps.pop(key)
            task = room.leaving[tap] = asyncio.ensure_future(tap.close(graceful=True))
            task.add_done_callback(lambda _, tap=tap: room.leaving.pop(tap, None))

    def track_continued(self, room_id: MeetingId, user_id: UserId, previous: PublishedTrack,
                        track: PublishedTrack) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        tap = room.taps.pop((user_id, previous.id), None)
        if tap is None:
            self._add(room_id, room, user_id, track)
            return
        tap.follow(track)
        room.taps[(user_id, track.id)] = tap

    def _add(self, room_id: MeetingId, room: _Room, user_id: UserId, track: PublishedTrack) -> None:
        if track.kind != "audio" or (user_id, track.id) in room.taps:
            return
        room.taps[(user_id, track.id)] = SpeakerCaptions(
            room_id, user_id, track, self.speech, self.sink, room.health, self._clock,
            queue_frames=self._queue_frames, stream_chunks=self._stream_chunks, gate=self._gate,
            monotonic=self._monotonic)
