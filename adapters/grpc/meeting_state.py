"""RecordingStatus (ports/rooms.py) and CaptionedMeetings (ports/captions.py) over gRPC: what a signaling
process without a database tells a joining member, read from the meetings service (proto/meetings.proto's
MeetingState, served by runners/rpc/meetings.py)."""

from __future__ import annotations

import datetime as dt

from adapters.grpc.client import RpcClient
from domain.rooms.recording import ActiveRecording
from domain.shared.ids import MeetingId
from proto.confero.meetings import v1 as pb

SERVICE = "/confero.meetings.v1.MeetingState"
RECORDING, CAPTIONS = f"{SERVICE}/Recording", f"{SERVICE}/Captions"


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def to_ms(at: dt.datetime) -> int:
    return round(at.timestamp() * 1000)


class GrpcRecordingStatus:
    """Only reads: retried (CallPolicy)."""

    def __init__(self, client: RpcClient) -> None:
        self._client = client

    async def active(self, room_id: MeetingId) -> ActiveRecording | None:
        reply = await self._client.unary(RECORDING, pb.RoomStateRequest(meeting_id=room_id), pb.RecordingNow,
                                         idempotent=True)
        if not reply.active:
            return None
        started = from_ms(reply.started_at_ms) if reply.started_at_ms is not None else None
        return ActiveRecording(recording_id=reply.recording_id, started_by=reply.started_by, started_at=started)


class GrpcCaptionedMeetings:
    """Only reads: retried (CallPolicy)."""

    def __init__(self, client: RpcClient) -> None:
        self._client = client

    async def live_since(self, meeting_id: MeetingId) -> dt.datetime | None:
        reply = await self._client.unary(CAPTIONS, pb.RoomStateRequest(meeting_id=meeting_id), pb.CaptionsLive,
                                         idempotent=True)
        return from_ms(reply.since_ms) if reply.live else None
