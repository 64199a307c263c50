"""The SFU core forwards encoded media between aiortc peers without decoding or encoding it.

Every WebRTC scenario runs in a child process under ``unshare -n`` (this module re-runs itself:
``python -m tests.integration.test_webrtc_forwarding SCENARIO``); the SFU runs in a process of
its own there (tests/support/webrtc_rig.py), so its codec calls can be counted. The tests here
only read the child's RESULT line.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.support.netns import ROOT, allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_webrtc_forwarding"
FPS = 15

@pytest.fixture
def netns_capable() -> None:
    require_unshare()


needs_netns = pytest.mark.usefixtures("netns_capable")


# --- scenarios: run only inside the private namespace ---------------------------------------------

async def scenario_fanout(seconds: float = 6.0) -> dict[str, Any]:
    from aiortc import AudioStreamTrack

    from tests.support.webrtc_rig import MarkedVideoTrack, ReceivedMedia, SfuProcess

    async with SfuProcess("forward") as sfu:
        video = MarkedVideoTrack(FPS)
        publisher = await sfu.publish("pub", video, AudioStreamTrack())
        await asyncio.sleep(0.5)
        media = [ReceivedMedia(), ReceivedMedia()]
        subscribers = [await sfu.subscribe(f"sub{i}", "pub", m) for i, m in enumerate(media)]
        await asyncio.sleep(1.0)
        since = time.monotonic()
        await asyncio.sleep(seconds)
        stats = await sfu.call("stats")
        for pc in (publisher, *subscribers):
            await pc.close()
    return {"subscribers": [m.summary(since) for m in media], "sfu": stats}


async def scenario_late_join() -> dict[str, Any]:
    from tests.support.webrtc_rig import MarkedVideoTrack, ReceivedMedia, SfuProcess

    async with SfuProcess("forward") as sfu:
        video = MarkedVideoTrack(FPS)
        publisher = await sfu.publish("pub", video)
        early, late = ReceivedMedia(), ReceivedMedia()
        first = await sfu.subscribe("early", "pub", early)
        await asyncio.sleep(3.0)
        joined_at_counter = video.counter
        second = await sfu.subscribe("late", "pub", late)
        await asyncio.sleep(2.0)
        stats = await sfu.call("stats")
        for pc in (publisher, first, second):
            await pc.close()
    return {"joined_at_counter": joined_at_counter, "late": late.summary(), "early": early.summary(),
            "sfu": stats}


async def scenario_loss(retransmissions: str) -> dict[str, Any]:
    from tests.support.webrtc_rig import MarkedVideoTrack, ReceivedMedia, SfuProcess

    async with SfuProcess("forward") as sfu:
        publisher = await sfu.publish("pub", MarkedVideoTrack(FPS))
        media = ReceivedMedia()
        subscriber = await sfu.subscribe("sub", "pub", media)
        await asyncio.sleep(1.0)
        await sfu.call("drop_video", every=25, retransmissions=retransmissions == "lost")
        since = time.monotonic()
        await asyncio.sleep(6.0)
        stats = await sfu.call("stats")
        for pc in (publisher, subscriber):
            await pc.close()
    summary = media.summary(since)
    arrivals = [v[2] for v in media.video if v[2] >= since]
    summary["longest_gap_s"] = max((b - a for a, b in zip(arrivals, arrivals[1:])), default=99.0)
    return {"subscriber": summary, "sfu": stats}


# --- tests ----------------------------------------------------------------------------------------

def in_order(counters: list[int]) -> bool:
    return all(b == a + 1 for a, b in zip(counters, counters[1:]))


@needs_netns
def test_two_subscribers_get_every_frame_in_order_at_the_sent_rate_without_any_codec_in_the_sfu() -> None:
    result, _ = run_module(MODULE, "fanout")
    for sub in result["subscribers"]:
        assert len(sub["counters"]) >= 5 * FPS
        assert in_order(sub["counters"]), sub["counters"]
        assert sub["fps"] == pytest.approx(FPS, rel=0.1)
        assert sub["audio_fps"] == pytest.approx(50, rel=0.15)
        # ~66 ms of it is the subscriber's own aiortc jitter buffer; a second frame of delay in the SFU would be ~140
        assert sorted(sub["delays_ms"])[len(sub["delays_ms"]) // 2] < 115
    sfu = result["sfu"]
    assert (sfu["get_encoder"], sfu["get_decoder"]) == (0, 0)
    assert sfu["sender_encoders"] == ["ForwardingPacketizer"]


@needs_netns
def test_a_late_subscriber_starts_at_a_keyframe_requested_from_the_publisher() -> None:
    # aiortc's VP8 encoder sends a keyframe only every 3000 frames: without the PLI sent on
    # subscribe, the late subscriber would decode nothing for minutes.
    result, _ = run_module(MODULE, "late_join")
    late = result["late"]["counters"]
    assert late and late[0] - result["joined_at_counter"] <= FPS // 2
    assert in_order(late)
    assert in_order(result["early"]["counters"])
    assert result["sfu"]["keyframe_requests"] >= 1
    assert (result["sfu"]["get_encoder"], result["sfu"]["get_decoder"]) == (0, 0)


@needs_netns
def test_packets_lost_once_are_recovered_by_nack_without_losing_a_frame() -> None:
    result, _ = run_module(MODULE, "loss", "retransmitted")
    sub = result["subscriber"]
    assert in_order(sub["counters"]), sub["counters"]
    assert sub["fps"] == pytest.approx(FPS, rel=0.1)
    assert result["sfu"]["holes_skipped"] == 0
    assert result["sfu"]["nacks"]["sent"] > 0  # confero_sfu_nack_packets_total counted the SFU's NACKs


@needs_netns
def test_packets_lost_for_good_cost_a_keyframe_request_not_a_stall() -> None:
    result, _ = run_module(MODULE, "loss", "lost")
    sub = result["subscriber"]
    assert result["sfu"]["holes_skipped"] >= 3
    assert result["sfu"]["loss_keyframe_requests"] >= 1
    assert sub["longest_gap_s"] < 1.5
    assert sub["counters"] == sorted(sub["counters"])
    assert len(sub["counters"]) >= 3 * FPS


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def vp8_packets(seq: int, timestamp: int, count: int, keyframe: bool) -> list[Any]:
    from aiortc.rtp import RtpPacket

    packets = []
    for i in range(count):
        packet = RtpPacket(payload_type=97, sequence_number=(seq + i) % 65536, timestamp=timestamp,
                           marker=int(i == count - 1), ssrc=1)
        packet.payload = bytes([0x10 if i == 0 else 0x00]) + (b"\x00" if keyframe and i == 0 else b"\x01")
        packet._data = packet.payload[1:]  # what aiortc's receiver sets before the jitter buffer
        packets.append(packet)
    return packets


def assembler_with(frames: list[Any], clock: FakeClock) -> Any:
    from adapters.webrtc.assembly import VideoFrameAssembler

    return VideoFrameAssembler(frames.append, lambda pt: "VP8", loss_timeout=0.3, clock=clock)


def test_a_video_frame_is_released_on_its_marker_bit_not_when_the_next_frame_begins() -> None:
    frames: list[Any] = []
    assembler = assembler_with(frames, FakeClock())
    for packet in vp8_packets(65534, 3000, 3, keyframe=True):  # across the sequence-number wrap
        assert assembler.add(packet) == (False, None)
    assert [(f.rtp_timestamp, f.keyframe, f.data) for f in frames] == [(3000, True, b"\x00\x01\x01")]


def test_a_hole_waits_for_its_retransmission_then_is_skipped_up_to_the_next_keyframe_with_a_pli() -> None:
    frames: list[Any] = []
    clock = FakeClock()
    assembler = assembler_with(frames, clock)
    key, delta1, delta2, key2 = (vp8_packets(100 + 2 * i, 3000 * i, 2, keyframe=i in (0, 3)) for i in range(4))
    for packet in key + delta1[1:]:
        assembler.add(packet)
    assert len(frames) == 1
    assembler.add(delta1[0])  # the retransmission arrives in time
    assert [f.rtp_timestamp for f in frames] == [0, 3000]
    assembler.add(delta2[1])  # delta2[0] is lost for good
    clock.now = 1.0
    plis = [assembler.add(p)[0] for p in key2]
    assert [f.rtp_timestamp for f in frames] == [0, 3000, 9000] and any(plis)
    assert assembler.holes_skipped == 1


def test_the_installed_aiortc_has_every_internal_the_forwarding_core_reaches_into() -> None:
    from adapters.webrtc import aiortc_internals

    assert aiortc_internals.find_problems() == []


@pytest.mark.parametrize("breakage, named", [
    ("del aiortc.rtcrtpsender.RTCRtpSender._send_keyframe", "_send_keyframe"),
    ("aiortc.rtcrtpreceiver.RTCRtpReceiver._send_rtcp_pli = lambda self, ssrc: None", "_send_rtcp_pli"),
    ("aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__ = lambda self, kind, transport: None", "__jitter_buffer"),
    ("aiortc.rtcrtpsender.RTCRtpSender._next_encoded_frame = lambda self, codec: None", "__encoder"),
    ("del aiortc.codecs.vpx.Vp8Encoder._packetize", "Vp8Encoder._packetize"),
    ("aiortc.rtcrtpsender.RTCRtpSender._handle_rtcp_packet = lambda self, packet: None", "target_bitrate"),
    ("aiortc.rtcdtlstransport.RtpRouter.route_rtp = lambda self, packet: None", "RtpRouter"),
    ("aiortc.rtcrtptransceiver.RTCRtpTransceiver.__init__ = lambda self, *a, **k: None", "_headerExtensions"),
    ("aiortc.rtcrtpsender.RTCRtpSender._run_rtp = aiortc.rtcrtpsender.RTCRtpSender._run_rtcp", "_run_rtp"),
])
def test_an_aiortc_that_lost_an_internal_fails_the_import_and_names_it(breakage: str, named: str) -> None:
    code = ("import aiortc, aiortc.rtcrtpsender, aiortc.rtcrtpreceiver, aiortc.codecs.vpx, aiortc.rtcdtlstransport\n"
            "import aiortc.rtcrtptransceiver\n"
            f"{breakage}\n"
            "try:\n    import adapters.webrtc\nexcept ImportError as exc:\n"
            "    print(type(exc).__name__, exc)\nelse:\n    print('imported')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("AiortcInternalsChanged"), out.stdout + out.stderr
    assert named in out.stdout


if __name__ == "__main__":
    allow_loopback_candidates()
    scenario = {"fanout": scenario_fanout, "late_join": scenario_late_join, "loss": scenario_loss}[sys.argv[1]]
    emit_result(asyncio.run(scenario(*sys.argv[2:])))
