"""The MediaNode, MediaRecorder and MediaCaptioner gRPC services (proto/media.proto): translation to any MediaServer (ports/media.py) this
process composes; on a media node (python -m runners.media_node) the aiortc SFU behind the drain rule
(domain/rooms/media_node.py).

Only other services call it (signaling relays its members' signals): the service secret is required,
user tokens are not accepted (ServiceGuard).  Ids must be UUIDs, SDP and candidates are bounded as the
signaling protocol bounds them; every domain error goes back as its status and class (docs/grpc.md)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import betterproto
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from adapters.grpc.captioner import caption_pb
from adapters.grpc.media import candidate_from_pb, preferences_from_pb, stats_pb
from adapters.inprocess.caption_relay import CaptionRelay
from adapters.grpc.recorder import files_pb
from domain.rooms.media import MediaNodeLoad
from domain.rooms.model import CANDIDATE_MAX, SDP_MAX
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, RecordingId, UserId
from ports.captions import RoomCaptioner
from ports.media import MediaServer
from ports.recording_media import RoomRecorder
from proto.confero.media import v1 as pb
from runners.rpc.guard import ServiceGuard, invalid, valid_id

LoadProbe = Callable[[], Awaitable[MediaNodeLoad]]


VIDEO_SIZES_MAX = 256  # likewise (the SFU allows 64)
PINNED_MAX = 100  # a bound on the wire only: the node's SFU allows fewer (docs/signaling.md 13.9)


class MediaNodeServicer(ServiceGuard, pb.MediaNodeBase):
    def __init__(self, media: MediaServer, service_secrets: tuple[str, ...], load: LoadProbe | None = None) -> None:
        self._media = media
        self._load = load
        self.service_secrets = service_secrets

    async def signal(self, signal_request: pb.SignalRequest) -> pb.SignalReply:
        r = signal_request
        room_id, user_id = _room(r.room_id), UserId(valid_id(r.user_id, "user_id"))
        kind, value = betterproto.which_one_of(r, "signal")
        if kind in ("offer", "answer"):
            if not value or len(value) > SDP_MAX:
                raise invalid(f"an {kind} carries 1-{SDP_MAX} characters of SDP")
            payload = {"sdp": value}
            if kind == "offer" and r.connection_id:
                payload["connection"] = _connection(r.connection_id)
            await self._media.signal(room_id, user_id, kind, payload)
        elif kind == "ice_candidate":
            if len(value.candidate) > CANDIDATE_MAX or len(value.sdp_mid or "") > 256 or len(
                    value.username_fragment or "") > 256:
                raise invalid(f"a candidate is at most {CANDIDATE_MAX} characters, its mid and ufrag 256")
            await self._media.signal(room_id, user_id, kind, {"candidate": candidate_from_pb(value)})
        elif kind == "media_preferences":
            if len(value.pinned) > PINNED_MAX or any(len(u) > 64 for u in value.pinned):
                raise invalid(f"at most {PINNED_MAX} pinned user ids")
            if len(value.video_sizes) > VIDEO_SIZES_MAX or any(len(k) > 80 for k in value.video_sizes):
                raise invalid(f"at most {VIDEO_SIZES_MAX} video sizes, keys of at most 80 characters")
            await self._media.signal(room_id, user_id, kind, preferences_from_pb(value))
        else:
            raise invalid("one signal is required: offer, answer, ice_candidate or media_preferences")
        return pb.SignalReply()

    async def remove(self, remove_request: pb.RemoveRequest) -> pb.RemoveReply:
        r = remove_request
        await self._media.remove(_room(r.room_id), UserId(valid_id(r.user_id, "user_id")),
                                 _connection(r.connection_id) if r.connection_id else None)
        return pb.RemoveReply()

    async def close_room(self, close_room_request: pb.CloseRoomRequest) -> pb.CloseRoomReply:
        await self._media.close_room(_room(close_room_request.room_id))
        return pb.CloseRoomReply()

    async def stats(self, stats_request: pb.StatsRequest) -> pb.StatsReply:
        return stats_pb(await self._media.stats(_room(stats_request.room_id)))

    async def load(self, load_request: pb.LoadRequest) -> pb.LoadReply:
        if self._load is None:
            raise GRPCError(Status.UNIMPLEMENTED, "not_implemented: this server reports no load")
        n = await self._load()
        return pb.LoadReply(streams=n.streams, cpu=n.cpu, rooms=n.rooms, connections=n.connections,
                            draining=n.draining)


def _room(value: str) -> MeetingId:
    return MeetingId(valid_id(value, "room_id"))


KEY_PREFIX = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,15}")
KEY_PREFIX_MAX = 512


def _key_prefix(value: str) -> str:
    prefix = value.rstrip("/")
    if (len(prefix) > KEY_PREFIX_MAX or not KEY_PREFIX.fullmatch(prefix)
            or any(part in (".", "..") for part in prefix.split("/"))):
        raise invalid("key_prefix is a relative blob key of [A-Za-z0-9._-] segments (no . or ..), at most "
                      f"{KEY_PREFIX_MAX} characters")
    return prefix


class MediaRecorderServicer(ServiceGuard, pb.MediaRecorderBase):
    """The node's RoomRecorder.  ``Recover`` is asked by the recording's next owner when the one that
    started it is gone: if this node still runs the recording, it is stopped here and its files are
    returned (recording on would race that recovery); otherwise the files are made from the uploads."""

    def __init__(self, recorder: RoomRecorder, service_secrets: tuple[str, ...]) -> None:
        self._recorder = recorder
        self.service_secrets = service_secrets

    async def start(self, start_recording_request: pb.StartRecordingRequest) -> pb.StartRecordingReply:
        r = start_recording_request
        await self._recorder.start(RecordingId(valid_id(r.recording_id, "recording_id")), _room(r.room_id),
                                   _key_prefix(r.key_prefix))
        return pb.StartRecordingReply()

    async def stop(self, stop_recording_request: pb.StopRecordingRequest) -> pb.RecordedFiles:
        recording_id = RecordingId(valid_id(stop_recording_request.recording_id, "recording_id"))
        return files_pb(await self._recorder.stop(recording_id))

    async def recover(self, recover_recording_request: pb.RecoverRecordingRequest) -> pb.RecordedFiles:
        r = recover_recording_request
        recording_id = RecordingId(valid_id(r.recording_id, "recording_id"))
        prefix = _key_prefix(r.key_prefix)
        if recording_id in await self._recorder.recording():
            return files_pb(await self._recorder.stop(recording_id))
        return files_pb(await self._recorder.recover(recording_id, prefix))

    async def list(self, list_recordings_request: pb.ListRecordingsRequest) -> pb.RecordingList:
        return pb.RecordingList(recording_ids=sorted(await self._recorder.recording()))


class MediaCaptionerServicer(ServiceGuard, pb.MediaCaptionerBase):
    """The node's caption tap (None: the node has none, every Caption call is Unavailable), whose sink is
    ``relay``: a ``Caption`` stream follows one room, gets the
    room's captions while it is the room's first follower (adapters/inprocess/caption_relay.py), and
    stops the tap when it was the last."""

    def __init__(self, captioner: RoomCaptioner | None, relay: CaptionRelay, service_secrets: tuple[str, ...]) -> None:
        self._captioner, self._relay = captioner, relay
        self.service_secrets = service_secrets

    async def caption(self, caption_request: pb.CaptionRequest) -> AsyncIterator[pb.CaptionEvent]:
        room_id = _room(caption_request.room_id)
        if self._captioner is None:
            raise Unavailable("this media node has no caption tap (APP_CAPTIONS_SPEECH=grpc and its token)",
                              reason="no_caption_tap")
        queue = self._relay.listen(room_id)
        try:
            await self._captioner.start(room_id)
            yield pb.CaptionEvent(started=pb.CaptionsStarted())
            while True:
                kind, value = await queue.get()
                if kind == "heard":
                    yield pb.CaptionEvent(heard=caption_pb(value))
                elif kind == "unavailable":
                    yield pb.CaptionEvent(unavailable=str(value)[:500])
                else:
                    yield pb.CaptionEvent(resumed=pb.CaptionsResumed())
        finally:
            if self._relay.leave(room_id, queue):
                await self._captioner.stop(room_id)

    async def captioning(self, captioning_request: pb.CaptioningRequest) -> pb.RoomList:
        rooms = [] if self._captioner is None else await self._captioner.captioning()
        return pb.RoomList(room_ids=[str(r) for r in rooms])


def _connection(value: str) -> str:
    """A signaling connection id (opaque to the node): 1-128 printable characters."""
    if not 0 < len(value) <= 128 or not value.isprintable():
        raise invalid("a connection_id is 1-128 printable characters")
    return value
