"""The media node's parts in process (no WebRTC traffic: nobody negotiates here): the drain rule and the
drain's wait, the load it reports, its HTTP and gRPC listeners, its start-up checks, and how a process
that uses a node over gRPC composes recording and captions."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time

import aiohttp
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from adapters.grpc.captioner import GrpcRoomCaptioner
from adapters.grpc.media import GrpcMediaServer
from adapters.grpc.recorder import GrpcRoomRecorder
from adapters.grpc.wire import SERVICE_TOKEN, CheckedProtoCodec
from adapters.memory.discovery import InMemoryDiscoveryStore, InMemoryServiceRegistry
from adapters.system.clock import SystemClock
from adapters.system.cpu import ProcessCpu
from adapters.webrtc.sfu import AiortcMediaServer
from domain.discovery.model import ServiceInstance
from domain.rooms.errors import MediaNodeDraining
from domain.rooms.media_node import MediaNode
from domain.shared.ids import MeetingId, UserId, new_id
from runners.discovery import Announcement
from runners.media_node.main import NodeMeter, drain, serve_node
from runners.recording import UnconfiguredRecorder
from runners.recording_media import aiortc_room_recorder
from runners.serve import composed
from runners.settings import Settings
from tests.support.media_fakes import FakeMediaServer
from tests.unit.web_support import web_settings

SECRET = "the-shared-service-secret-of-the-media-node-tests-0123456789"
ROOM, ANN, BOB = MeetingId(new_id()), UserId(new_id()), UserId(new_id())
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


async def test_a_node_takes_rooms_until_it_drains_then_only_those_it_holds():
    fake = FakeMediaServer()
    node = MediaNode(fake)
    await node.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    node.drain()
    await node.signal(ROOM, BOB, "offer", {"sdp": "v=0"})
    await node.signal(ROOM, BOB, "answer", {"sdp": "v=0"})
    other = MeetingId(new_id())
    with pytest.raises(MediaNodeDraining):
        await node.signal(other, ANN, "offer", {"sdp": "v=0"})
    await node.signal(other, ANN, "ice_candidate", {"candidate": {"candidate": ""}})  # not an opening
    assert fake.rooms == {ROOM: {ANN, BOB}}
    assert await node.rooms() == [ROOM]
    await node.remove(ROOM, ANN)
    await node.remove(ROOM, BOB)
    assert await node.rooms() == []
    with pytest.raises(MediaNodeDraining):  # an emptied room is not held any more
        await node.signal(ROOM, ANN, "offer", {"sdp": "v=0"})


async def test_a_room_the_server_dropped_by_itself_is_not_held():
    fake = FakeMediaServer()
    node = MediaNode(fake)
    await node.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    fake.rooms.clear()  # e.g. the member's connection failed and the SFU removed it
    assert await node.rooms() == []


async def _announced() -> tuple[InMemoryServiceRegistry, Announcement]:
    registry = InMemoryServiceRegistry(InMemoryDiscoveryStore(SystemClock()))
    instance = ServiceInstance("media", "node-1", http="127.0.0.1:8083", grpc="127.0.0.1:50053")
    await registry.register(instance, dt.timedelta(seconds=10))
    return registry, Announcement(registry, instance, drain_seconds=30)


async def test_the_drain_marks_the_node_draining_and_ends_as_soon_as_its_rooms_are_empty():
    fake = FakeMediaServer()
    node = MediaNode(fake)
    await node.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    registry, announcement = await _announced()
    draining = asyncio.ensure_future(drain(node, announcement, seconds=60, timeout=5))
    while not (await registry.instances("media"))[0].draining:
        await asyncio.sleep(0.01)
    assert node.draining and not draining.done()
    await node.remove(ROOM, ANN)
    assert await asyncio.wait_for(draining, 30) == []


async def test_the_drain_gives_up_after_its_seconds_and_names_the_rooms_left():
    fake = FakeMediaServer()
    node = MediaNode(fake)
    await node.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    assert await drain(node, None, seconds=0, timeout=5) == [ROOM]


def test_the_cpu_share_is_zero_at_first_then_a_fraction_of_the_host():
    cpu = ProcessCpu(cores=1)
    assert cpu.fraction() == 0.0
    end = time.process_time() + 0.05
    while time.process_time() < end:
        pass
    assert 0.0 < cpu.fraction() <= 1.0


async def test_an_idle_node_reports_no_streams_rooms_or_connections():
    sfu = AiortcMediaServer(FakeMediaServer())  # type: ignore[arg-type]  (never signals: nobody negotiates)
    meter = NodeMeter(sfu, MediaNode(sfu))
    load = meter.sample()
    assert load.streams == 0 and 0.0 <= load.cpu <= 1.0
    report = await meter.load()
    assert (report.rooms, report.connections, report.draining) == (0, 0, False)
    await sfu.close()


async def test_the_node_serves_health_ready_metrics_and_grpc_then_stops_when_told(tmp_path):
    settings = Settings.from_env({"APP_SERVICE_SECRETS": SECRET, "APP_MEDIA_PORT": "0", "APP_MEDIA_GRPC_PORT": "0",
                                  "APP_RECORDINGS_DIR": str(tmp_path),
                                  "APP_LOG_FORMAT": "text", "APP_DRAIN_SECONDS": "0"})
    stop = asyncio.Event()
    ports: list[int] = []
    serving = asyncio.ensure_future(serve_node(settings, stop, lambda http, grpc: ports.extend((http, grpc))))
    while not ports:
        assert not serving.done(), serving.exception()
        await asyncio.sleep(0.02)
    http, grpc = ports
    async with aiohttp.ClientSession() as session:
        for path, status in (("/health", 200), ("/ready", 200), ("/metrics", 200)):
            async with session.get(f"http://127.0.0.1:{http}{path}") as r:
                assert r.status == status, path
                body = await r.text()
        assert "confero_sfu_rooms" in body
    client = GrpcMediaServer(Channel("127.0.0.1", grpc, codec=CheckedProtoCodec()), token=SECRET)
    try:
        load = await client.load()
        assert (load.rooms, load.connections, load.draining) == (0, 0, False)
        assert await client.stats(ROOM) == []
        assert await GrpcRoomRecorder(client.channel, token=SECRET).recording() == []  # the node's recorder
    finally:
        await client.close()
    stop.set()
    await asyncio.wait_for(serving, 30)


@pytest.mark.parametrize("speech,served", [("grpc", True), ("inprocess", False)])
async def test_the_node_taps_captions_when_speech_to_text_is_the_ai_service_over_grpc(tmp_path, speech, served):
    from proto.confero.media import v1 as pb

    settings = Settings.from_env({"APP_SERVICE_SECRETS": SECRET, "APP_MEDIA_PORT": "0", "APP_MEDIA_GRPC_PORT": "0",
                                  "APP_RECORDINGS_DIR": str(tmp_path), "APP_LOG_FORMAT": "text",
                                  "APP_DRAIN_SECONDS": "0", "APP_CAPTIONS_SPEECH": speech,
                                  "APP_CAPTIONS_SERVICE_TOKEN": "a-token-of-the-ai-service-0123456789"})
    stop = asyncio.Event()
    ports: list[int] = []
    serving = asyncio.ensure_future(serve_node(settings, stop, lambda http, grpc: ports.extend((http, grpc))))
    while not ports:
        assert not serving.done(), serving.exception()
        await asyncio.sleep(0.02)
    channel = Channel("127.0.0.1", ports[1], codec=CheckedProtoCodec())
    try:
        stub = pb.MediaCaptionerStub(channel, metadata={SERVICE_TOKEN: SECRET})
        assert (await stub.captioning(pb.CaptioningRequest())).room_ids == []
        caption = stub.caption(pb.CaptionRequest(room_id=ROOM))
        if served:
            assert (await anext(caption)).started == pb.CaptionsStarted()
        else:
            with pytest.raises(GRPCError) as raised:
                await anext(caption)
            assert raised.value.status == Status.UNAVAILABLE and "no caption tap" in raised.value.message
        await caption.aclose()
    finally:
        channel.close()
        stop.set()
        await asyncio.wait_for(serving, 30)


def test_a_production_node_without_a_service_secret_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    env |= {"APP_ADAPTERS": "production", "APP_JWT_SECRET": "x" * 40, "APP_POSTGRES_DSN": "postgresql://nowhere/db",
            "APP_REDIS_URL": "redis://127.0.0.1:1/0", "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-m", "runners.media"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "APP_SERVICE_SECRETS" in done.stderr, done.stderr


async def test_a_process_using_a_media_node_records_and_captions_through_it():
    settings = web_settings(APP_MEDIA_GRPC_TARGET="127.0.0.1:50053", APP_SERVICE_SECRETS=SECRET)
    async with composed(settings) as (_, services):
        assert isinstance(services.media, GrpcMediaServer)
        assert isinstance(services.recordings.recorder, GrpcRoomRecorder)
        assert isinstance(services.captions.captioner, GrpcRoomCaptioner)
        assert services.captions.captioner.sink is services.captions


def test_any_other_media_server_gets_the_placeholder_recorder():
    assert isinstance(aiortc_room_recorder(FakeMediaServer(), None, web_settings()),  # type: ignore[arg-type]
                      UnconfiguredRecorder)


def test_a_media_target_must_be_host_and_port():
    with pytest.raises(Exception, match="APP_MEDIA_GRPC_TARGET"):
        web_settings(APP_MEDIA_GRPC_TARGET="nowhere")


async def test_a_drain_that_cannot_read_the_rooms_waits_on_instead_of_failing():
    fake = FakeMediaServer()
    node = MediaNode(fake)
    await node.signal(ROOM, ANN, "offer", {"sdp": "v=0"})
    fake.failures = [RuntimeError("a peer closing under the read")]
    assert await drain(node, None, seconds=0, timeout=5) == ["?"]
    fake.failures = [RuntimeError("again"), RuntimeError("and again")]
    draining = asyncio.ensure_future(drain(node, None, seconds=60, timeout=5))
    await asyncio.sleep(0.6)  # two failed looks, then the room is still held
    assert not draining.done()
    await node.remove(ROOM, ANN)
    assert await asyncio.wait_for(draining, 30) == []
