"""MeetingAccess (ports/rooms.py) over gRPC: signaling's view of a meetings service in another process
(proto/meetings.proto, served by runners/rpc/meetings.py)."""

from __future__ import annotations

from adapters.grpc.client import RpcClient
from domain.rooms.model import Admission
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId
from proto.confero.meetings import v1 as pb

SERVICE = "/confero.meetings.v1.MeetingAccess"
ADMIT, DEPART, REQUIRE_MANAGER = f"{SERVICE}/Admit", f"{SERVICE}/Depart", f"{SERVICE}/RequireManager"


def actor_pb(actor: Actor) -> pb.Actor:
    return pb.Actor(user_id=actor.user_id, is_admin=actor.is_admin)


class GrpcMeetingAccess:
    """``admit`` is not retried (a wrong password counts as a guess, and a lost reply may have joined);
    ``depart`` and ``require_manager`` are idempotent and are."""

    def __init__(self, client: RpcClient) -> None:
        self._client = client

    async def admit(self, actor: Actor, meeting_id: MeetingId, password: str | None) -> Admission:
        reply = await self._client.unary(
            ADMIT, pb.AdmitRequest(actor=actor_pb(actor), meeting_id=meeting_id, password=password), pb.Admission,
            idempotent=False)
        return Admission(role=reply.role, display_name=reply.display_name, mute_on_join=reply.mute_on_join,
                         roles=dict(reply.roles))

    async def depart(self, actor: Actor, meeting_id: MeetingId) -> None:
        await self._client.unary(DEPART, pb.DepartRequest(actor=actor_pb(actor), meeting_id=meeting_id),
                                 pb.DepartReply, idempotent=True)

    async def require_manager(self, actor: Actor, meeting_id: MeetingId) -> None:
        await self._client.unary(REQUIRE_MANAGER, pb.RequireManagerRequest(actor=actor_pb(actor), meeting_id=meeting_id),
                                 pb.RequireManagerReply, idempotent=True)
