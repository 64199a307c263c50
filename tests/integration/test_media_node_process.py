"""A media node as its own process (``python -m runners.media``): members negotiate through signaling ->
gRPC -> the node, get each other's media, are captioned by the node's caption tap (a stand-in AI service)
and recorded by the node's recorder, and the node registers, reports its load and drains.

Everything runs in a private network namespace: pytest starts ``python -m
tests.integration.test_media_node_process`` under ``unshare -n``; that scenario process starts a Redis
and an etcd of its own (the namespace reaches no other), the node as a child process, and, in itself,
the all-in-one's composition with the production signal bus (Redis) and APP_MEDIA_GRPC_TARGET pointing
at the node, so the SFU's answers and offers reach the members only through Redis.  Two aiortc members
(tests/integration/test_sfu_meeting.py's) meet there; then the node is told to stop (SIGTERM) while they
are still in their meeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from dependency_injector import providers

import runners.containers as containers
from adapters.etcd.client import open_etcd
from adapters.etcd.discovery import EtcdServiceRegistry
from adapters.grpc.media import GrpcMediaServer
from adapters.redis.client import open_redis
from adapters.redis.signal_bus import RedisSignalBus
from domain.rooms.errors import MediaNodeDraining
from domain.shared.ids import MeetingId, UserId, new_id
from proto.confero.analysis import v1 as apb
from runners.rpc.server import serving
from runners.serve import composed
from runners.settings import Settings
from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_media_node_process"
SECRET = "the-shared-service-secret-of-the-media-node-test-0123456789"
REDIS_PORT, ETCD_PORT, ETCD_PEER_PORT = 16379, 12379, 12380
NODE_HTTP, NODE_GRPC, APP_PORT, AI_GRPC = 18083, 15053, 18800, 19084
AI_TOKEN = "the-ai-service-token-of-the-media-node-test-0123456789"
FPS = 15


def syllables() -> Any:
    """A 220 Hz tone pulsed four times a second (as syllables are): the caption tap's speech gate takes a
    steady tone for noise, so test_sfu_meeting's ToneTrack would never be heard as speech."""
    from aiortc import AudioStreamTrack

    class Syllables(AudioStreamTrack):
        phase = 0

        async def recv(self) -> Any:
            frame = await super().recv()
            rate, n = frame.sample_rate, frame.samples
            samples = bytearray()
            for i in range(n):
                t = (self.phase + i) / rate
                envelope = 1.0 if (t * 4) % 1 < 0.6 else 0.0
                v = int(9000 * envelope * math.sin(2 * math.pi * 220 * t))
                samples += v.to_bytes(2, "little", signed=True) * (len(frame.layout.channels))
            self.phase += n
            size = frame.planes[0].buffer_size
            frame.planes[0].update(bytes(samples[:size]) + bytes(max(0, size - len(samples))))
            return frame

    return Syllables()


class FakeSpeech(apb.AnalysisServiceBase):
    """The AI service's StreamCaptions as the node's caption tap calls it: one caption per utterance,
    naming its speaker, once half a second of its audio arrived; ``streams`` counts the utterances."""

    streams = 0

    async def stream_captions(self, audio_chunk_iterator: Any) -> Any:
        FakeSpeech.streams += 1
        heard, speaker = 0, ""
        async for chunk in audio_chunk_iterator:
            speaker = speaker or chunk.acting_user_id
            heard += len(chunk.pcm)
            if heard >= 16_000 and heard - len(chunk.pcm) < 16_000:  # 0.5 s of 16 kHz 16-bit PCM
                yield apb.Transcript(text=f"heard {speaker}", window_start_s=0.0, window_end_s=0.5,
                                     segments=[apb.TranscriptSegment(start_s=0, end_s=0.5, text="heard",
                                                                     confidence=0.9)])


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


def _metric(text: str, name: str) -> float:
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def _until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen"
        await asyncio.sleep(0.1)


async def scenario(tmp: str) -> dict[str, Any]:
    from runners.web.app import create_app
    from tests.integration.test_sfu_meeting import Member

    result: dict[str, Any] = {}
    children: list[subprocess.Popen[bytes]] = []
    redis_url, etcd_url = f"redis://127.0.0.1:{REDIS_PORT}/0", f"http://127.0.0.1:{ETCD_PORT}"
    try:
        children.append(subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        children.append(subprocess.Popen(
            ["etcd", "--name", "media-test", "--data-dir", f"{tmp}/etcd",
             "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
             "--listen-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
             "--initial-cluster", f"media-test=http://127.0.0.1:{ETCD_PEER_PORT}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_http(f"{etcd_url}/health", children[-1])
        _wait_port(REDIS_PORT, children[0])
        node_log = open(f"{tmp}/node.log", "wb")
        node_env = {**os.environ, "APP_REDIS_URL": redis_url, "APP_SERVICE_SECRETS": SECRET,
                    "APP_MEDIA_PORT": str(NODE_HTTP), "APP_MEDIA_GRPC_PORT": str(NODE_GRPC),
                    "APP_MEDIA_HOST_ADDRESSES": "127.0.0.1", "APP_ETCD_URL": etcd_url, "APP_INSTANCE_ID": "node-1",
                    "APP_MEDIA_LOAD_INTERVAL": "0.5", "APP_DRAIN_SECONDS": "120", "APP_LOG_FORMAT": "text",
                    "APP_RECORDINGS_DIR": f"{tmp}/recordings", "APP_CAPTIONS_SPEECH": "grpc",
                    "APP_CAPTIONS_AI_HOST": "127.0.0.1", "APP_CAPTIONS_AI_PORT": str(AI_GRPC),
                    "APP_CAPTIONS_SERVICE_TOKEN": AI_TOKEN}
        node = subprocess.Popen([sys.executable, "-m", "runners.media"], env=node_env, stdout=node_log,
                                stderr=node_log)
        children.append(node)
        _wait_http(f"http://127.0.0.1:{NODE_HTTP}/health", node)
        with urllib.request.urlopen(f"http://127.0.0.1:{NODE_HTTP}/ready", timeout=5) as r:
            result["node_ready"] = r.status

        # Signaling: the all-in-one's composition, its signal bus on the Redis the node publishes to.
        async with open_redis(redis_url) as redis, open_etcd(etcd_url) as etcd, \
                serving([FakeSpeech()], "127.0.0.1", AI_GRPC):
            bus = RedisSignalBus(redis)
            plain = containers.adapter_family

            def with_redis_bus(settings: Settings) -> Any:
                family = plain(settings)
                family.signal_bus.override(providers.Object(bus))
                return family

            containers.adapter_family = with_redis_bus
            registry = EtcdServiceRegistry(etcd)
            settings = Settings.from_env({**os.environ, "APP_PORT": str(APP_PORT), "APP_FAST_PASSWORD_HASHING": "true",
                                          "APP_LOG_LEVEL": "WARNING", "APP_LOG_FORMAT": "text",
                                          "APP_SERVICE_SECRETS": SECRET,
                                          "APP_MEDIA_GRPC_TARGET": f"127.0.0.1:{NODE_GRPC}",
                                          "APP_JWT_SECRET": "media-node-test-secret-0123456789abcdef",
                                          "APP_RECORDINGS_DIR": f"{tmp}/recordings", "APP_CAPTIONS_SPEECH": "grpc",
                    "APP_CAPTIONS_AI_HOST": "127.0.0.1", "APP_CAPTIONS_AI_PORT": str(AI_GRPC),
                    "APP_CAPTIONS_SERVICE_TOKEN": AI_TOKEN})
            async with composed(settings) as (_, services):
                result["signaling_media"] = type(services.media).__name__
                runner = web.AppRunner(create_app(services, settings), access_log=None)
                await runner.setup()
                await web.TCPSite(runner, "127.0.0.1", APP_PORT).start()
                app = type("App", (), {"base": f"http://127.0.0.1:{APP_PORT}"})()
                async with aiohttp.ClientSession() as session:
                    ann, bob = Member("ann", app, session), Member("bob", app, session)  # type: ignore[arg-type]
                    try:
                        await meeting(result, ann, bob, node, registry, Path(tmp) / "recordings")
                    finally:
                        for m in (ann, bob):
                            await m.close()
                await runner.cleanup()
            await bus.aclose()
        result["node_log"] = open(f"{tmp}/node.log", encoding="utf-8", errors="replace").read()[-4000:]
        return result
    except BaseException:
        with contextlib.suppress(OSError):  # what the node said, for the failure's report
            print(open(f"{tmp}/node.log", encoding="utf-8", errors="replace").read()[-6000:], file=sys.stderr)
        raise
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.kill()
            child.wait()


async def meeting(result: dict[str, Any], ann: Any, bob: Any, node: subprocess.Popen[bytes], registry: Any,
                  recordings: Path) -> None:
    from aiortc import AudioStreamTrack, RTCPeerConnection

    from tests.support.webrtc_rig import MarkedVideoTrack

    for m in (ann, bob):
        await m.sign_up()
    _, created = await ann.http("POST", "/api/v1/meetings", json={"title": "On a media node"})
    room = created["id"]
    for m in (ann, bob):
        await m.connect()
        await m.join(room)
    await ann.publish(MarkedVideoTrack(FPS), syllables())
    await bob.publish(MarkedVideoTrack(FPS), AudioStreamTrack())
    await ann.receiving(bob, timeout=30)
    await bob.receiving(ann, timeout=30)
    status, stats = await ann.http("GET", "/api/v1/media/stats", params={"room_id": room})
    result["stats_status"], result["stats_members"] = status, sorted(p["user_id"] for p in stats["participants"])
    result["members"] = sorted([ann.user_id, bob.user_id])
    result["members_by_name"] = {"ann": ann.user_id, "bob": bob.user_id}
    with urllib.request.urlopen(f"http://127.0.0.1:{NODE_HTTP}/metrics", timeout=5) as r:
        metrics = r.read().decode()
    result["node_rooms_metric"] = _metric(metrics, "confero_sfu_rooms")

    # Captions: the node's tap hears ann's tone, the fake AI service answers, bob gets the caption frame.
    status, _ = await ann.http("POST", f"/api/v1/meetings/{room}/captions/on")
    result["captions_on"] = status
    frame = await bob.next("caption", timeout=30, where=lambda d: d["speaker_id"] == ann.user_id and d["final"])
    result["caption"] = {"text": frame["data"]["text"], "display_name": frame["data"]["display_name"]}
    _, transcript = await ann.http("GET", f"/api/v1/meetings/{room}/transcript")
    result["transcript_texts"] = sorted({c["text"] for c in transcript["items"]})
    status, _ = await ann.http("POST", f"/api/v1/meetings/{room}/captions/off")
    result["captions_off"] = status

    # A recording: signaling's recording service, the node's recorder (the SFU's tap), one directory.
    status, rec = await ann.http("POST", "/api/v1/recordings", json={"meeting_id": room})
    result["recording_start"] = status
    result["recording_notice"] = (await bob.next("recording_started"))["data"]["recording_id"] == rec["id"]
    await asyncio.sleep(3.0)
    status, _ = await ann.http("POST", f"/api/v1/recordings/{rec['id']}/stop")
    result["recording_stop"] = status
    deadline = time.monotonic() + 120
    while True:
        _, got = await ann.http("GET", f"/api/v1/recordings/{rec['id']}")
        if got["state"] in ("completed", "failed") or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    result["recording_state"] = got["state"], got.get("failure")
    result["recorded_stays"] = sorted(f["user_id"] for f in got["files"] if f.get("user_id"))
    result["recorded_sizes_match"] = all(
        [p.stat().st_size for p in (recordings / "objects").rglob(f["name"]) if rec["id"] in p.parts] == [f["size"]]
        for f in got["files"])

    client = GrpcMediaServer.to(f"127.0.0.1:{NODE_GRPC}", token=SECRET)
    try:
        load = await client.load()
        result["load"] = attrs.asdict(load)

        async def reported() -> bool:
            found = await registry.instances("media")
            return bool(found) and found[0].load.streams >= 4
        await _until(reported, "a load report with the forwarded streams")
        [registered] = await registry.instances("media")
        result["registered"] = {"grpc": registered.grpc, "http": registered.http, "streams": registered.load.streams,
                                "draining": registered.draining}

        # The node is told to stop while the meeting goes on: it drains.
        node.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            found = await registry.instances("media")
            return bool(found) and found[0].draining
        await _until(draining, "the node marked draining in the registry")
        result["load_draining"] = (await client.load()).draining
        pc = RTCPeerConnection()
        pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        other = MeetingId(new_id())
        try:
            await client.signal(other, UserId(new_id()), "offer", {"sdp": pc.localDescription.sdp})
            result["new_room_while_draining"] = "accepted"
        except MediaNodeDraining as err:
            result["new_room_while_draining"] = type(err).__name__
        finally:
            await pc.close()
        before = {m.name: len(m.video_from(o).video) for m, o in ((ann, bob), (bob, ann))}
        await asyncio.sleep(2.0)
        result["frames_while_draining"] = {m.name: len(m.video_from(o).video) - before[m.name]
                                           for m, o in ((ann, bob), (bob, ann))}
        result["node_running_while_room_held"] = node.poll() is None
        for m in (ann, bob):
            await m.send("leave_room", {"room_id": room})
    finally:
        await client.close()
    loop = asyncio.get_running_loop()
    result["node_exit"] = await loop.run_in_executor(None, lambda: node.wait(timeout=60))

    async def gone() -> bool:
        return await registry.instances("media") == []
    await _until(gone, "the node deregistered")


# --- the test ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    require_unshare()
    if not (shutil.which("redis-server") and shutil.which("etcd")):
        pytest.fail("this test starts redis-server and etcd inside its namespace: install them (make test does)")
    result, _ = run_module(MODULE, timeout=300)
    return result


def test_members_on_signaling_get_each_others_media_through_the_node_over_grpc(run):
    assert run["signaling_media"] == "GrpcMediaServer"
    assert run["node_ready"] == 200
    assert run["stats_status"] == 200 and run["stats_members"] == run["members"]
    assert run["node_rooms_metric"] == 1  # the room's media is on the node, not in the signaling process
    assert run["load"]["rooms"] == 1 and run["load"]["connections"] == 2 and run["load"]["streams"] >= 4


def test_the_nodes_recorder_records_the_meeting_for_the_recording_service_in_signaling(run):
    assert (run["recording_start"], run["recording_stop"], run["recording_notice"]) == (201, 200, True)
    assert run["recording_state"] == ["completed", None]
    assert run["recorded_stays"] == run["members"]
    assert run["recorded_sizes_match"] is True


def test_the_nodes_caption_tap_captions_the_meeting_for_the_captions_service_in_signaling(run):
    ann = run["members_by_name"]["ann"]
    assert run["captions_on"] in (200, 204) and run["captions_off"] in (200, 204)
    assert run["caption"] == {"text": f"heard {ann}", "display_name": "ann"}
    assert run["transcript_texts"] == [f"heard {ann}"]


def test_the_node_registers_as_media_and_reports_its_load(run):
    assert run["registered"]["grpc"] == f"127.0.0.1:{NODE_GRPC}"
    assert run["registered"]["http"] == f"127.0.0.1:{NODE_HTTP}"
    assert run["registered"]["streams"] >= 4 and run["registered"]["draining"] is False


def test_a_draining_node_refuses_new_rooms_keeps_its_meeting_and_stops_when_it_empties(run):
    assert run["load_draining"] is True
    assert run["new_room_while_draining"] == "MediaNodeDraining"
    assert run["node_running_while_room_held"] is True
    assert all(n > 0 for n in run["frames_while_draining"].values()), run["frames_while_draining"]
    assert run["node_exit"] == 0, run["node_log"]
    assert "drained" in run["node_log"]


if __name__ == "__main__":
    allow_loopback_candidates()
    with tempfile.TemporaryDirectory() as directory:
        emit_result(asyncio.run(scenario(directory)))
