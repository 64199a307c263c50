"""The MeetingAccess gRPC service (proto/meetings.proto): translation to the MeetingAccess port that this
process composes in process (adapters/inprocess/meeting_access.py over the meeting use cases).

The calling service (signaling) authenticated the user; the actor it names is trusted because the call
carries the service secret."""

from __future__ import annotations

from adapters.grpc.meeting_state import to_ms
from domain.rooms.model import Admission
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId
from ports.captions import CaptionedMeetings
from ports.rooms import MeetingAccess, RecordingStatus
from proto.confero.meetings import v1 as pb
from runners.rpc.guard import ServiceGuard, invalid, valid_id

PASSWORD_MAX = 1024


def _actor(actor: pb.Actor | None) -> Actor:
    if actor is None:
        raise invalid("actor is required")
    return Actor(UserId(valid_id(actor.user_id, "actor.user_id")), actor.is_admin)


def admission_pb(a: Admission) -> pb.Admission:
    return pb.Admission(role=a.role, display_name=a.display_name, mute_on_join=a.mute_on_join, roles=dict(a.roles))


class MeetingAccessServicer(ServiceGuard, pb.MeetingAccessBase):
    def __init__(self, access: MeetingAccess, service_secrets: tuple[str, ...]) -> None:
        self._access = access
        self.service_secrets = service_secrets

    async def admit(self, admit_request: pb.AdmitRequest) -> pb.Admission:
        r = admit_request
        if r.password is not None and len(r.password) > PASSWORD_MAX:
            raise invalid(f"password is at most {PASSWORD_MAX} characters")
        admission = await self._access.admit(_actor(r.actor), MeetingId(valid_id(r.meeting_id, "meeting_id")),
                                             r.password)
        return admission_pb(admission)

    async def depart(self, depart_request: pb.DepartRequest) -> pb.DepartReply:
        r = depart_request
        await self._access.depart(_actor(r.actor), MeetingId(valid_id(r.meeting_id, "meeting_id")))
        return pb.DepartReply()

    async def require_manager(self, require_manager_request: pb.RequireManagerRequest) -> pb.RequireManagerReply:
        r = require_manager_request
        await self._access.require_manager(_actor(r.actor), MeetingId(valid_id(r.meeting_id, "meeting_id")))
        return pb.RequireManagerReply()


class MeetingStateServicer(ServiceGuard, pb.MeetingStateBase):
    """What a signaling process without a database tells a joining member (proto/meetings.proto's
    MeetingState): the RecordingStatus and CaptionedMeetings ports this process composes over its data."""

    def __init__(self, recordings: RecordingStatus, captions: CaptionedMeetings,
                 service_secrets: tuple[str, ...]) -> None:
        self._recordings, self._captions = recordings, captions
        self.service_secrets = service_secrets

    async def recording(self, room_state_request: pb.RoomStateRequest) -> pb.RecordingNow:
        found = await self._recordings.active(MeetingId(valid_id(room_state_request.meeting_id, "meeting_id")))
        if found is None:
            return pb.RecordingNow(active=False)
        return pb.RecordingNow(active=True, recording_id=found.recording_id, started_by=found.started_by,
                               started_at_ms=to_ms(found.started_at) if found.started_at else None)

    async def captions(self, room_state_request: pb.RoomStateRequest) -> pb.CaptionsLive:
        since = await self._captions.live_since(MeetingId(valid_id(room_state_request.meeting_id, "meeting_id")))
        return pb.CaptionsLive(live=False) if since is None else pb.CaptionsLive(live=True, since_ms=to_ms(since))
