"""Bandwidth estimation end to end with aiortc members (issue 16): a subscriber whose downlink drops
packets has its video paused for bandwidth while its audio goes on and another subscriber keeps the
video; when the loss stops, the video comes back.

The scenario runs under ``unshare -n`` (``python -m tests.integration.test_sfu_bandwidth lossy``) with
the SFU in the same process as its members (tests/support/sfu_room.py). The loss is made at the weak
subscriber's DTLS transport (each incoming SRTP packet dropped with probability ``p``): RTCP receiver
reports then tell the SFU, as a tc-limited link would. The publisher sends without simulcast (aiortc
cannot), so its video is one layer: forwarded or paused (the Chromium simulcast test is tests/browser).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_sfu_bandwidth"
pytestmark = pytest.mark.timeout(300)


def drop_incoming(member: Any, share: dict[str, float]) -> None:
    """Drops each RTP packet reaching ``member`` with probability ``share["p"]`` (looks below aiortc:
    tests may)."""
    transport = member.pc.getTransceivers()[0].receiver.transport
    handle = transport._handle_rtp_data

    async def lossy(data: bytes, arrival_time_ms: int) -> None:
        if random.random() < share["p"]:
            return
        await handle(data, arrival_time_ms)

    transport._handle_rtp_data = lossy


async def wait_for(check: Any, what: str, timeout: float, debug: Any = None) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: {debug() if debug else ''}")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def scenario_lossy() -> dict[str, Any]:
    from adapters.webrtc.layer_control import BandwidthSettings
    from tests.support.sfu_room import ROOM, Room, ToneTrack, small_video

    room = Room()
    room.sfu.bandwidth = BandwidthSettings(start_bps=600_000, retry_after=4.0, up_hold=1.0)
    try:
        pub = await room.join("pub", ToneTrack(loud=True), small_video(15))
        good = await room.join("good", ToneTrack())
        weak = await room.join("weak", ToneTrack())
        for m in (pub, good, weak):
            await m.settled(30)
        sfu_room = room.sfu.rooms[ROOM]
        weak_peer, good_peer = sfu_room.peers[weak.user_id], sfu_room.peers[good.user_id]
        weak_video = weak_peer.subscriptions[(pub.user_id, "video")]
        good_video = good_peer.subscriptions[(pub.user_id, "video")]

        def state() -> dict[str, Any]:
            est = weak_peer.layers.estimator
            return {"estimate": est.estimate, "send_rate": est.send_rate, "loss": est.loss, "remb": est.remb,
                    "paused": weak_video.bandwidth_paused, "ceiling": est.ceiling,
                    # what the SFU forwarded to the weak member, and what it decoded
                    "forwarded_frames": weak_video.track.frames_sent,
                    "waiting_for_keyframe": weak_video.track.waiting_for_keyframe,
                    "weak_decoded": len(weak.video_from(pub))}

        trace: list[Any] = []  # (t, REMB, send rate, estimate, paused) every 0.5 s: in failure messages

        async def sample() -> None:
            while True:
                est = weak_peer.layers.estimator
                trace.append((round(time.monotonic(), 1), est.remb, int(est.send_rate), int(est.estimate),
                              weak_video.bandwidth_paused))
                await asyncio.sleep(0.5)

        sampler = asyncio.ensure_future(sample())
        await wait_for(lambda: len(weak.video_from(pub)) > 15 and len(good.video_from(pub)) > 15,
                       "both get the video", 30, lambda: (state(), trace[-20:]))
        await asyncio.sleep(3)
        result: dict[str, Any] = {"before": state()}
        share = {"p": 0.0}
        drop_incoming(weak, share)
        share["p"] = 0.4
        result["pause_after_s"] = await wait_for(lambda: weak_video.bandwidth_paused, "weak paused", 30, state)
        result["during"] = state()
        await asyncio.sleep(2)
        audio_before = len(weak.audio_levels.get(f"{pub.user_id}-audio", []))
        good_frames_before = len(good.video_from(pub))
        await asyncio.sleep(2)
        result["weak_audio_packets_while_paused"] = len(weak.audio_levels.get(f"{pub.user_id}-audio", [])) - audio_before
        result["good_frames_while_weak_paused"] = len(good.video_from(pub)) - good_frames_before
        result["good_paused"] = good_video.bandwidth_paused
        share["p"] = 0.0
        lifted = time.monotonic()
        result["resume_after_s"] = await wait_for(lambda: not weak_video.bandwidth_paused, "weak resumed", 60, state)
        # aiortc's receiver (the weak member) holds frames behind a packet lost before the pause until its
        # jitter buffer overflows (512 packets: many seconds at this bitrate) and only then asks for a keyframe
        await wait_for(lambda: len(weak.video_from(pub, since=lifted)) > 5, "weak gets video again", 40, state)
        result["after"] = state()
        stats = {s.user_id: s for s in await room.sfu.stats(ROOM)}
        result["stats_bandwidth"] = stats[weak.user_id].bandwidth_bps
        result["trace"] = trace[-60:]
        sampler.cancel()
        return result
    finally:
        await room.close()


@pytest.fixture(scope="module")
def lossy() -> dict[str, Any]:
    require_unshare()
    result, _ = run_module(MODULE, "lossy", timeout=240)
    return result


def test_a_lossy_subscriber_gets_its_video_paused_but_keeps_audio_and_the_other_keeps_video(
        lossy: dict[str, Any]) -> None:
    assert not lossy["before"]["paused"] and lossy["before"]["loss"] is not None, lossy
    assert lossy["during"]["loss"] > 0.1, lossy
    assert lossy["weak_audio_packets_while_paused"] > 20, lossy  # ~50/s sent, 40% dropped
    assert lossy["good_frames_while_weak_paused"] > 10 and not lossy["good_paused"], lossy
    print("figures:", {k: lossy[k] for k in ("pause_after_s", "resume_after_s")})


def test_when_the_loss_stops_the_video_comes_back(lossy: dict[str, Any]) -> None:
    assert not lossy["after"]["paused"] and lossy["stats_bandwidth"] > 0, lossy


if __name__ == "__main__":
    allow_loopback_candidates()
    scenario = {"lossy": scenario_lossy}[sys.argv[1]]
    emit_result(asyncio.run(scenario(*sys.argv[2:])))
