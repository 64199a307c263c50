"""MediaServer (ports/media.py) over gRPC: ONE media node in another process, as signaling sees it
(proto/media.proto, served by runners/rpc/media.py).  Which node a room lives on is the placement's
business (a PlacedMediaServer holds one of these per node).

``signal`` is not retried (an offer restarts the member's connection; a lost reply may have applied it);
``remove``, ``close_room`` and ``stats`` are idempotent and are (CallPolicy).  A node that cannot be
reached, times out or breaks the call raises Unavailable; every error the node raised comes back as the
same domain error (InvalidSignal with its field, MediaNodeDraining, ...).

``close()`` closes this client's channel only: the rooms on the node are not this client's to close
(other signaling processes use them); the node closes them when it stops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from grpclib.client import Channel

from adapters.grpc.client import CallPolicy, RpcClient
from domain.rooms.errors import InvalidSignal
from domain.rooms.media import MediaNodeLoad, ParticipantMediaStats, TrackStats
from domain.shared.ids import MeetingId, UserId
from proto.confero.media import v1 as pb

SERVICE = "/confero.media.v1.MediaNode"
SIGNAL, REMOVE, CLOSE_ROOM, STATS, LOAD = (f"{SERVICE}/{m}" for m in ("Signal", "Remove", "CloseRoom", "Stats",
                                                                          "Load"))


# -- messages <-> the port's values (shared with the servicer) ------------------------------------------

def candidate_pb(raw: Mapping[str, Any]) -> pb.IceCandidate:
    """The browser's RTCIceCandidateInit as a message (InvalidSignal for one that is not)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("candidate", ""), str):
        raise InvalidSignal("an ice_candidate carries a candidate object", field="candidate")
    mid, index, ufrag = raw.get("sdpMid"), raw.get("sdpMLineIndex"), raw.get("usernameFragment")
    if (mid is not None and not isinstance(mid, str)) or (ufrag is not None and not isinstance(ufrag, str)) or (
            index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**32)):
        raise InvalidSignal("the candidate's sdpMid, sdpMLineIndex or usernameFragment is malformed",
                            field="candidate")
    return pb.IceCandidate(candidate=raw.get("candidate", ""), sdp_mid=mid, sdp_mline_index=index,
                           username_fragment=ufrag)


def candidate_from_pb(c: pb.IceCandidate) -> dict[str, Any]:
    return {"candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index,
            "usernameFragment": c.username_fragment}


def preferences_pb(payload: Mapping[str, Any]) -> pb.MediaPreferences:
    """The wire shape only; the node's SFU checks the values as it does in process.  A field the payload
    leaves out is marked kept (docs/signaling.md 13.9: it keeps its value)."""
    last_n, pinned = payload.get("last_n"), payload.get("pinned", [])
    if last_n is not None and (isinstance(last_n, bool) or not isinstance(last_n, int) or not 0 <= last_n < 2**32):
        raise InvalidSignal("last_n must be null or a whole number >= 0", field="last_n")
    if not isinstance(pinned, list) or not all(isinstance(u, str) for u in pinned):
        raise InvalidSignal("pinned must be a list of user ids", field="pinned")
    sizes = payload.get("video_sizes") or {}
    if not isinstance(sizes, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Mapping) and set(v) == {"width", "height"}
            and all(isinstance(v[d], int) and not isinstance(v[d], bool) and 0 < v[d] < 2**32
                    for d in ("width", "height")) for k, v in sizes.items()):
        raise InvalidSignal("video_sizes must map keys to {width, height} whole numbers", field="video_sizes")
    return pb.MediaPreferences(has_last_n=last_n is not None, last_n=last_n or 0, pinned=pinned,
                               video_sizes={k: pb.TileSize(width=v["width"], height=v["height"])
                                            for k, v in sizes.items()},
                               keeps_last_n="last_n" not in payload, keeps_pinned="pinned" not in payload,
                               keeps_video_sizes="video_sizes" not in payload)


def preferences_from_pb(p: pb.MediaPreferences) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if not p.keeps_last_n:
        payload["last_n"] = p.last_n if p.has_last_n else None
    if not p.keeps_pinned:
        payload["pinned"] = list(p.pinned)
    if not p.keeps_video_sizes:
        payload["video_sizes"] = {k: {"width": v.width, "height": v.height} for k, v in p.video_sizes.items()}
    return payload


def signal_pb(room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> pb.SignalRequest:
    request = pb.SignalRequest(room_id=room_id, user_id=user_id)
    if kind in ("offer", "answer"):
        sdp = payload.get("sdp")
        if not isinstance(sdp, str):
            raise InvalidSignal(f"an {kind} carries sdp", field="sdp")
        setattr(request, kind, sdp)
        connection = payload.get("connection") if kind == "offer" else None
        if connection is not None:
            request.connection_id = str(connection)
        if kind == "offer" and payload.get("restart") is True:
            request.restart = True
    elif kind == "ice_candidate":
        request.ice_candidate = candidate_pb(payload.get("candidate"))  # type: ignore[arg-type]
    elif kind == "media_preferences":
        request.media_preferences = preferences_pb(payload)
    else:
        raise InvalidSignal(f"the media server takes offer, answer, ice_candidate or media_preferences, "
                            f"not {kind[:40]!r}", field="kind")
    return request


def stats_pb(members: list[ParticipantMediaStats]) -> pb.StatsReply:
    return pb.StatsReply(members=[pb.MemberStats(
        user_id=m.user_id, connection_state=m.connection_state,
        tracks=[pb.TrackStats(publisher_id=t.publisher_id, kind=t.kind, direction=t.direction, active=t.active,
                              bitrate_bps=max(0, t.bitrate_bps), packets=max(0, t.packets),
                              packets_lost=max(0, t.packets_lost), rtt_ms=t.rtt_ms,
                              frames_forwarded=max(0, t.frames_forwarded),
                              layer=t.layer if t.layer is not None and t.layer >= 0 else None,
                              paused_for_bandwidth=t.paused_for_bandwidth) for t in m.tracks],
        bandwidth_bps=max(0, m.bandwidth_bps) if m.bandwidth_bps is not None else None)
        for m in members])


def stats_from_pb(reply: pb.StatsReply) -> list[ParticipantMediaStats]:
    return [ParticipantMediaStats(
        user_id=UserId(m.user_id), connection_state=m.connection_state,
        tracks=tuple(TrackStats(publisher_id=UserId(t.publisher_id), kind=t.kind, direction=t.direction,
                                active=t.active, bitrate_bps=t.bitrate_bps, packets=t.packets,
                                packets_lost=t.packets_lost, rtt_ms=t.rtt_ms, frames_forwarded=t.frames_forwarded,
                                layer=t.layer, paused_for_bandwidth=t.paused_for_bandwidth)
                     for t in m.tracks), bandwidth_bps=m.bandwidth_bps)
        for m in reply.members]


# -- the client ----------------------------------------------------------------------------------------

class GrpcMediaServer:
    """MediaServer for the rooms of one media node, over ``channel`` (a grpclib Channel to the node's gRPC
    address, made with CheckedProtoCodec).  ``token``: the service secret (APP_SERVICE_SECRETS[0]);
    ``policy``: deadline per attempt and attempts of the idempotent calls; ``request_id``: names the calls
    (else the id of the call being served, else a fresh one)."""

    def __init__(self, channel: Channel, *, token: str, policy: CallPolicy | None = None,
                 request_id: Callable[[], str | None] | None = None) -> None:
        self.channel = channel  # the node's other service (MediaRecorder) may share it: GrpcRoomRecorder
        self._client = RpcClient.over(channel, token, policy, request_id=request_id)

    @classmethod
    def to(cls, target: str, *, token: str, policy: CallPolicy | None = None,
           request_id: Callable[[], str | None] | None = None) -> GrpcMediaServer:
        """To the node at ``target`` ("host:port")."""
        from adapters.grpc.client import parse_target
        from adapters.grpc.wire import CheckedProtoCodec

        host, port = parse_target(target)
        return cls(Channel(host, port, codec=CheckedProtoCodec()), token=token, policy=policy, request_id=request_id)

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        await self._client.unary(SIGNAL, signal_pb(room_id, user_id, kind, payload), pb.SignalReply,
                                 idempotent=False)

    async def remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None:
        await self._client.unary(REMOVE, pb.RemoveRequest(room_id=room_id, user_id=user_id,
                                                          connection_id=connection or ""),
                                 pb.RemoveReply, idempotent=True)

    async def close_room(self, room_id: MeetingId) -> None:
        await self._client.unary(CLOSE_ROOM, pb.CloseRoomRequest(room_id=room_id), pb.CloseRoomReply,
                                 idempotent=True)

    async def stats(self, room_id: MeetingId) -> list[ParticipantMediaStats]:
        return stats_from_pb(await self._client.unary(STATS, pb.StatsRequest(room_id=room_id), pb.StatsReply,
                                                      idempotent=True))

    async def load(self) -> MediaNodeLoad:
        """The node's own report (not part of the port: the placement may ask a node directly)."""
        r = await self._client.unary(LOAD, pb.LoadRequest(), pb.LoadReply, idempotent=True)
        return MediaNodeLoad(streams=r.streams, cpu=min(1.0, max(0.0, r.cpu)) if r.cpu == r.cpu else 0.0,
                             rooms=r.rooms, connections=r.connections, draining=r.draining)

    async def close(self) -> None:
        """Closes this client's channel; the node's rooms go on (see the module's docstring)."""
        self._client.close()
