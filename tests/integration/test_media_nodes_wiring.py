"""APP_MEDIA_NODES: the composition puts PlacedMediaServer (over the registry at TEST_ETCD_URL) where the
SFU was, for the rooms and the web app alike, with the recorder and the caption tap of each room's node;
without it, the all-in-one keeps its SFU."""

from __future__ import annotations

import pytest

from adapters.inprocess.placed_media import PlacedMediaServer
from adapters.inprocess.placed_recording import PlacedRoomCaptioner, PlacedRoomRecorder
from adapters.webrtc.sfu import AiortcMediaServer
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, RecordingId
from runners.containers import resolve
from runners.serve import composed
from runners.settings import Settings

pytestmark = pytest.mark.integration
BASE = {"APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_LEVEL": "WARNING"}


async def test_with_media_nodes_the_rooms_use_the_placed_media_server_and_record_and_caption_on_its_nodes(
        etcd_server_url):
    settings = Settings.from_env({**BASE, "APP_ETCD_URL": etcd_server_url, "APP_MEDIA_NODES": "etcd",
                                  "APP_ETCD_PREFIX": "/confero-test-media-nodes/"})
    async with composed(settings, tags={"signaling", "media", "meta"}) as (container, services):
        assert isinstance(services.media, PlacedMediaServer)
        assert services.rooms.media is services.media
        assert isinstance(services.captions.captioner, PlacedRoomCaptioner)  # each room's node taps it
        assert services.captions.captioner.media is services.media
        recorder = await resolve(container.adapters.recorder)
        assert isinstance(recorder, PlacedRoomRecorder) and recorder.media is services.media
        with pytest.raises(Unavailable):  # no node to place the room on
            await recorder.start(RecordingId("r"), MeetingId("m"), "k")
        assert services.media.nodes() == []  # nobody registered a media node under this prefix


async def test_without_media_nodes_the_process_keeps_its_own_sfu():
    async with composed(Settings.from_env(BASE)) as (_, services):
        assert isinstance(services.media, AiortcMediaServer)
