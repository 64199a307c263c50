"""How recording is composed: where files go, the SFU's recorder and the ffmpeg processor, the S3 secrets
kept out of sight."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.crypto.download_links import HmacDownloadLinks
from adapters.ffmpeg.processor import FfmpegRecordingProcessor
from adapters.localfs.blobs import LocalDirectoryBlobStore
from adapters.webrtc.recorder import AiortcRoomRecorder
from domain.recordings.errors import DownloadLinkInvalid
from domain.shared.errors import Unavailable
from domain.shared.ids import new_id
from runners.recording import UnconfiguredRecorder
from runners.serve import composed
from tests.unit.web_support import web_settings

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


async def test_the_all_in_one_records_the_sfu_into_the_recordings_directory(tmp_path):
    settings = web_settings(APP_RECORDINGS_DIR=str(tmp_path / "rec"), APP_RECORDING_UPLOAD_INTERVAL="1.5")
    async with composed(settings) as (_, services):
        service = services.recordings
        assert isinstance(service.blobs, LocalDirectoryBlobStore) and service.blobs.root == tmp_path / "rec"
        assert isinstance(service.recorder, AiortcRoomRecorder) and service.recorder.media is services.media
        assert service.recorder.blobs is service.blobs and service.recorder.upload_interval == 1.5
        assert service.recorder in services.media.watchers
        processor = service.processor.inner  # inside the metrics decorator (adapters/metrics/recording.py)
        assert isinstance(processor, FfmpegRecordingProcessor) and processor.blobs is service.blobs


async def test_the_placeholder_recorder_refuses_with_unavailable():
    with pytest.raises(Unavailable, match="recorder not configured"):
        await UnconfiguredRecorder().start(new_id(), new_id(), "recordings/x/y")


def test_s3_credentials_stay_out_of_the_settings_repr():
    settings = web_settings(APP_S3_ENDPOINT="http://127.0.0.1:9000", APP_S3_ACCESS_KEY="AKIA-visible-nowhere",
                            APP_S3_SECRET_KEY="very-secret-key-material")
    assert "very-secret-key-material" not in repr(settings) and "AKIA-visible-nowhere" not in repr(settings)


def test_a_signed_link_verifies_until_it_expires_and_not_after_any_change():
    links = HmacDownloadLinks("a" * 40)
    url = links.sign("recordings/m/r/a.webm", "a.webm", NOW + dt.timedelta(minutes=5))
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    expires, signature = int(query["expires"]), query["signature"]
    links.verify("recordings/m/r/a.webm", "a.webm", expires, signature, NOW)
    for key, name, when in (("recordings/m/r/b.webm", "a.webm", expires), ("recordings/m/r/a.webm", "b.webm", expires),
                            ("recordings/m/r/a.webm", "a.webm", expires + 1)):
        with pytest.raises(DownloadLinkInvalid):
            links.verify(key, name, when, signature, NOW)
    with pytest.raises(DownloadLinkInvalid, match="expired"):
        links.verify("recordings/m/r/a.webm", "a.webm", expires, signature, NOW + dt.timedelta(minutes=5))
    with pytest.raises(DownloadLinkInvalid):
        HmacDownloadLinks("b" * 40).verify("recordings/m/r/a.webm", "a.webm", expires, signature, NOW)
