"""The media server's recorder and the after-meeting processor, as composed by both adapter families
(the recorder lives with the SFU: in this process, or on the media node it runs on)."""

from __future__ import annotations

import logging

from adapters.ffmpeg.processor import FfmpegRecordingProcessor
from adapters.metrics.recording import MeasuredProcessor
from adapters.webrtc.recorder import AiortcRoomRecorder
from adapters.webrtc.sfu import AiortcMediaServer
from ports.blobs import BlobStore
from ports.media import MediaServer
from ports.recording_media import RoomRecorder
from runners.settings import Settings

log = logging.getLogger(__name__)


def aiortc_room_recorder(media: MediaServer, blobs: BlobStore, settings: Settings) -> RoomRecorder:
    """The recorder taps the SFU where it runs: this process's, or the media node's (APP_MEDIA_GRPC_TARGET:
    the node's recorder over gRPC, on the media client's channel, writing to the blob store both share;
    APP_MEDIA_NODES: the recorder of the node each room is placed on, on that node's channel).
    Any other media server: no recorder here (starting a recording is Unavailable)."""
    if isinstance(media, AiortcMediaServer):
        return AiortcRoomRecorder(media, blobs, upload_interval=settings.recording_upload_interval)
    from adapters.grpc.media import GrpcMediaServer
    from adapters.grpc.recorder import GrpcRoomRecorder
    from adapters.inprocess.placed_media import PlacedMediaServer
    from runners.rpc.clients import call_policy
    from runners.rpc.server import service_secrets

    def on(channel: object) -> GrpcRoomRecorder:  # a node's recorder, over the channel its media client has
        return GrpcRoomRecorder(channel, token=service_secrets(settings)[0], policy=call_policy(settings))  # type: ignore[arg-type]

    if isinstance(media, GrpcMediaServer):
        return on(media.channel)
    if isinstance(media, PlacedMediaServer):  # APP_MEDIA_NODES: each room's recorder is its node's
        from adapters.inprocess.placed_recording import PlacedRoomRecorder

        return PlacedRoomRecorder(media, lambda node, client: on(client.channel))  # type: ignore[attr-defined]
    from runners.recording import UnconfiguredRecorder

    log.warning("recording: this process's media server cannot be tapped; recordings are unavailable here")
    return UnconfiguredRecorder()


def ffmpeg_processor(blobs: BlobStore, settings: Settings) -> MeasuredProcessor:
    return MeasuredProcessor(FfmpegRecordingProcessor(blobs, ffmpeg=settings.recording_ffmpeg))
