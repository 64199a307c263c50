"""RoomRecorder (ports/recording_media.py) over gRPC: the recorder of ONE media node, which taps the rooms
of its SFU (proto/media.proto ``MediaRecorder``, served by runners/rpc/media.py).  The node writes to the
blob store the recording service reads (S3 in production, or a directory both see).

``recording()`` lists the recordings this client started that the node still runs: a recording service
renews the leases of those only (another signaling process's recordings on the same node are not its
own), and one the node lost (a restart) stops being renewed, so its recovery begins.  It raises
Unavailable when the node cannot be asked, so an outage never looks like a lost recording.

``start`` is not retried (a second start conflicts); ``stop``, ``recover`` and ``recording`` are.
``close()`` closes the client's channel only; the node's recordings go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from grpclib.client import Channel

from adapters.grpc.client import CallPolicy, RpcClient, parse_target
from adapters.grpc.wire import CheckedProtoCodec
from domain.recordings.media import RecordedFile
from domain.shared.ids import MeetingId, RecordingId, UserId
from proto.confero.media import v1 as pb

SERVICE = "/confero.media.v1.MediaRecorder"
START, STOP, RECOVER, LIST = (f"{SERVICE}/{m}" for m in ("Start", "Stop", "Recover", "List"))


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.timezone.utc) if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def file_pb(f: RecordedFile) -> pb.RecordedFile:
    return pb.RecordedFile(key=f.key, user_id=f.user_id, content_type=f.content_type, size=max(0, f.size),
                           duration_s=f.duration_s, started_at=_utc(f.started_at), ended_at=_utc(f.ended_at),
                           has_video=f.has_video, has_audio=f.has_audio)


def file_from_pb(f: pb.RecordedFile) -> RecordedFile:
    return RecordedFile(key=f.key, user_id=UserId(f.user_id) if f.user_id is not None else None,
                        content_type=f.content_type, size=f.size, duration_s=f.duration_s,
                        started_at=_utc(f.started_at), ended_at=_utc(f.ended_at), has_video=f.has_video,
                        has_audio=f.has_audio)


def files_pb(files: list[RecordedFile]) -> pb.RecordedFiles:
    return pb.RecordedFiles(files=[file_pb(f) for f in files])


class GrpcRoomRecorder:
    """The recorder of the node behind ``channel`` (made with CheckedProtoCodec); ``token``: the service
    secret; ``policy``: deadlines and attempts of the idempotent calls."""

    def __init__(self, channel: Channel, *, token: str, policy: CallPolicy | None = None,
                 request_id: Callable[[], str | None] | None = None) -> None:
        self._client = RpcClient.over(channel, token, policy, request_id=request_id)
        self._mine: set[RecordingId] = set()

    @classmethod
    def to(cls, target: str, *, token: str, policy: CallPolicy | None = None,
           request_id: Callable[[], str | None] | None = None) -> GrpcRoomRecorder:
        host, port = parse_target(target)
        return cls(Channel(host, port, codec=CheckedProtoCodec()), token=token, policy=policy, request_id=request_id)

    async def start(self, recording_id: RecordingId, room_id: MeetingId, key_prefix: str) -> None:
        await self._client.unary(START, pb.StartRecordingRequest(recording_id=recording_id, room_id=room_id,
                                                                 key_prefix=key_prefix),
                                 pb.StartRecordingReply, idempotent=False)
        self._mine.add(recording_id)

    async def stop(self, recording_id: RecordingId) -> list[RecordedFile]:
        reply = await self._client.unary(STOP, pb.StopRecordingRequest(recording_id=recording_id), pb.RecordedFiles,
                                         idempotent=True)
        self._mine.discard(recording_id)
        return [file_from_pb(f) for f in reply.files]

    async def recover(self, recording_id: RecordingId, key_prefix: str) -> list[RecordedFile]:
        reply = await self._client.unary(RECOVER, pb.RecoverRecordingRequest(recording_id=recording_id,
                                                                             key_prefix=key_prefix),
                                         pb.RecordedFiles, idempotent=True)
        self._mine.discard(recording_id)
        return [file_from_pb(f) for f in reply.files]

    async def recording(self) -> list[RecordingId]:
        reply = await self._client.unary(LIST, pb.ListRecordingsRequest(), pb.RecordingList, idempotent=True)
        running = set(reply.recording_ids)
        self._mine &= running  # a recording the node lost is not coming back
        return sorted(self._mine)

    async def running(self) -> list[RecordingId]:
        """Every recording the node runs, whoever started it (PlacedRoomRecorder: where a recovery goes)."""
        reply = await self._client.unary(LIST, pb.ListRecordingsRequest(), pb.RecordingList, idempotent=True)
        return sorted(RecordingId(r) for r in reply.recording_ids)

    async def close(self) -> None:
        """Closes this client's channel; the node's recordings go on."""
        self._client.close()
