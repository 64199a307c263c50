"""The media server's recorder and the after-meeting processor, as composed by both adapter families
(the recorder lives with the SFU, in this process)."""

from __future__ import annotations

from adapters.ffmpeg.processor import FfmpegRecordingProcessor
from adapters.metrics.recording import MeasuredProcessor
from adapters.webrtc.recorder import AiortcRoomRecorder
from adapters.webrtc.sfu import AiortcMediaServer
from ports.blobs import BlobStore
from runners.settings import Settings


def aiortc_room_recorder(media: AiortcMediaServer, blobs: BlobStore, settings: Settings) -> AiortcRoomRecorder:
    return AiortcRoomRecorder(media, blobs, upload_interval=settings.recording_upload_interval)


def ffmpeg_processor(blobs: BlobStore, settings: Settings) -> MeasuredProcessor:
    return MeasuredProcessor(FfmpegRecordingProcessor(blobs, ffmpeg=settings.recording_ffmpeg))
