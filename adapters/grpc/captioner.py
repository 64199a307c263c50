"""RoomCaptioner (ports/captions.py) over gRPC: the caption tap of ONE media node, beside its SFU
(proto/media.proto ``MediaCaptioner``, served by runners/rpc/media.py); what it hears comes back on a
server stream per room and goes to this process's CaptionSink (the captions use case).

``start`` opens the room's stream (a task) and returns once the node confirmed it, or after one call
deadline; ``stop`` closes this process's stream only (other signaling processes may follow the room; the
node stops its tap when the last one goes).  A stream that ends (its deadline, APP_CAPTIONS_STREAM_DEADLINE)
is opened again; a node that cannot be reached makes the room's captions unavailable
(``sink.unavailable``) until a new stream works (``sink.resumed``).  ``close()`` ends every stream; the
channel is the caller's (the media client's).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

import betterproto
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from adapters.grpc.client import CallPolicy
from adapters.grpc.wire import outgoing
from domain.captions.model import Caption
from domain.shared.ids import MeetingId, UserId
from ports.captions import CaptionSink
from proto.confero.media import v1 as pb

log = logging.getLogger(__name__)
SERVICE = "/confero.media.v1.MediaCaptioner"
CAPTION, CAPTIONING = f"{SERVICE}/Caption", f"{SERVICE}/Captioning"
NODE_UNREACHABLE = "media_node_unreachable"


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.timezone.utc) if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def caption_pb(c: Caption) -> pb.Caption:
    return pb.Caption(id=c.id, meeting_id=c.meeting_id, speaker_id=c.speaker_id, text=c.text, final=c.final,
                      start_at=_utc(c.start_at), end_at=_utc(c.end_at))


def caption_from_pb(c: pb.Caption) -> Caption:
    return Caption(id=c.id, meeting_id=MeetingId(c.meeting_id), speaker_id=UserId(c.speaker_id), text=c.text,
                   final=c.final, start_at=_utc(c.start_at), end_at=_utc(c.end_at))


class GrpcRoomCaptioner:
    def __init__(self, channel: Channel, sink: CaptionSink, *, token: str, policy: CallPolicy | None = None,
                 stream_deadline: float = 300.0, retry_max: float = 10.0) -> None:
        self._channel, self.sink, self._token = channel, sink, token
        self.policy = policy or CallPolicy()
        self._deadline, self._retry_max = stream_deadline, retry_max
        self._rooms: dict[MeetingId, asyncio.Task[None]] = {}

    async def start(self, room_id: MeetingId) -> None:
        if room_id in self._rooms:
            return
        started = asyncio.get_running_loop().create_future()
        self._rooms[room_id] = asyncio.create_task(self._follow(room_id, started), name=f"captions-{room_id}")
        with contextlib.suppress(TimeoutError):  # not confirmed yet: the task goes on trying
            await asyncio.wait_for(asyncio.shield(started), self.policy.timeout)

    async def stop(self, room_id: MeetingId) -> None:
        task = self._rooms.pop(room_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def captioning(self) -> list[MeetingId]:
        return sorted(self._rooms)

    async def close(self) -> None:
        for room_id in list(self._rooms):
            await self.stop(room_id)

    async def _follow(self, room_id: MeetingId, started: asyncio.Future[None]) -> None:
        pause, unreachable = 0.0, False
        while True:
            if pause:
                await asyncio.sleep(pause)
            opened = False
            try:
                async for event in self._stream(room_id):
                    which, value = betterproto.which_one_of(event, "event")
                    if which == "started":
                        opened = True
                        if not started.done():
                            started.set_result(None)
                        pause = 0.0
                        if unreachable:
                            unreachable = False
                            await self._tell(self.sink.resumed(room_id))
                    elif which == "heard":
                        await self._tell(self.sink.heard(caption_from_pb(value)))
                    elif which == "unavailable":
                        await self._tell(self.sink.unavailable(room_id, value))
                    elif which == "resumed":
                        await self._tell(self.sink.resumed(room_id))
                if opened:
                    continue  # the node ended a stream that worked: open it again
                log.warning("captions: the media node ended the stream at once", extra={"room_id": room_id})
            except (TimeoutError, GRPCError) as exc:
                deadline = isinstance(exc, TimeoutError) or exc.status is Status.DEADLINE_EXCEEDED
                if opened and deadline:
                    continue  # the stream's deadline: open it again at once
                log.warning("captions: the media node's stream failed", extra={"room_id": room_id,
                                                                               "error": type(exc).__name__})
            except (OSError, StreamTerminatedError, ProtocolError) as exc:
                log.warning("captions: the media node's stream failed", extra={"room_id": room_id,
                                                                               "error": type(exc).__name__})
            if not unreachable:
                unreachable = True
                await self._tell(self.sink.unavailable(room_id, NODE_UNREACHABLE))
            pause = min(self._retry_max, max(2 * pause, self.policy.backoff or 0.05))

    async def _stream(self, room_id: MeetingId) -> Any:
        async with self._channel.request(CAPTION, Cardinality.UNARY_STREAM, pb.CaptionRequest, pb.CaptionEvent,
                                         timeout=self._deadline, metadata=outgoing(self._token)) as stream:
            await stream.send_message(pb.CaptionRequest(room_id=room_id), end=True)
            while (event := await stream.recv_message()) is not None:
                yield event

    async def _tell(self, call: Any) -> None:
        try:
            await call
        except Exception as exc:  # the store or the bus: the captioner logs and goes on (CaptionSink)
            log.warning("captions: the sink failed", extra={"error": type(exc).__name__})
