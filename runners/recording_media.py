"""The media server's recorder and the after-meeting processor, as composed by both adapter families
(the recorder lives with the SFU, in this process)."""

from __future__ import annotations

import logging

from adapters.ffmpeg.processor import FfmpegRecordingProcessor
from adapters.webrtc.recorder import AiortcRoomRecorder
from adapters.webrtc.sfu import AiortcMediaServer
from ports.blobs import BlobStore
from ports.media import MediaServer
from ports.recording_media import RoomRecorder
from runners.settings import Settings

log = logging.getLogger(__name__)


def aiortc_room_recorder(media: MediaServer, blobs: BlobStore, settings: Settings) -> RoomRecorder:
    """The recorder taps the SFU of this process; with the SFU on a media node (APP_MEDIA_GRPC_TARGET) this
    process records nothing: starting a recording is Unavailable (docs/grpc.md, "Media nodes")."""
    if not isinstance(media, AiortcMediaServer):
        from runners.recording import UnconfiguredRecorder

        log.warning("recording: the SFU is on a media node, which this process cannot tap; recordings are "
                    "unavailable here")
        return UnconfiguredRecorder()
    return AiortcRoomRecorder(media, blobs, upload_interval=settings.recording_upload_interval)


def ffmpeg_processor(blobs: BlobStore, settings: Settings) -> FfmpegRecordingProcessor:
    return FfmpegRecordingProcessor(blobs, ffmpeg=settings.recording_ffmpeg)
