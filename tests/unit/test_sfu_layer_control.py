"""The per-subscriber layer controller (adapters/webrtc/layer_control.py) and its wiring in SfuPeer, on
stand-in subscriptions: simulcast tracks with the interface of forwarding.py, no network."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from adapters.webrtc.bandwidth import BandwidthEstimator
from adapters.webrtc.layer_control import BandwidthSettings, LayerController, tile_key
from adapters.webrtc.sfu import video_sizes
from adapters.webrtc.sfu_peer import SfuPeer, Subscription
from domain.rooms.errors import InvalidSignal
from domain.rooms.layers import PAUSED, LayerPolicy, TileSize
from domain.shared.ids import UserId

ANN, BOB, CAT = (UserId(f"00000000-0000-4000-8000-00000000000{i}") for i in (1, 2, 3))


def info(rid: str, width: int, height: int, bitrate: int, active: bool = True) -> SimpleNamespace:
    return SimpleNamespace(rid=rid, ssrc=hash(rid) & 0xFFFF, width=width, height=height, bitrate_bps=bitrate,
                           fps=30, active=active)


SIMULCAST = (info("q", 320, 180, 150_000), info("h", 640, 360, 500_000), info("f", 1280, 720, 1_500_000))


class Track:
    """ForwardedTrack as the controller and SfuPeer use it."""

    def __init__(self) -> None:
        self.paused, self.target_layer, self.targets, self.urgent = False, None, [], []

    def set_target_layer(self, index: int | None, urgent: bool = False) -> None:
        self.target_layer = index
        self.targets.append(index)
        self.urgent.append(urgent)

    def detach(self) -> None:
        self.paused = True

    def end(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False


def source(label: str = "video", layers: Any = SIMULCAST) -> SimpleNamespace:
    return SimpleNamespace(kind="video", label=label, layers=layers, closed=False, bytes_in=0)


def subscription(publisher: UserId, src: SimpleNamespace) -> Subscription:
    sender = SimpleNamespace(_RTCRtpSender__encoder=SimpleNamespace(bytes_out=0))
    return Subscription(publisher, src, Track(), SimpleNamespace(sender=sender))  # type: ignore[arg-type]


class Fixed(BandwidthEstimator):
    """An estimate set by the test."""

    def update(self, now: float, bytes_sent: int) -> int:
        return int(self.estimate)


def controller(estimate: int) -> LayerController:
    est = Fixed()
    est.estimate = estimate
    return LayerController(est, LayerPolicy(audio_reserve_bps=64_000, up_margin=1.15, up_hold=2.5))


def tick(ctl: LayerController, subs: dict, now: float, sizes: dict | None = None, pinned=frozenset()) -> bool:
    return ctl.tick(now, subs.items(), 0, sizes=sizes or {}, pinned=pinned, speaker_rank=lambda u: None)


def test_the_smallest_layer_that_fills_each_tile_and_the_rest_by_bandwidth() -> None:
    ctl = controller(10_000_000)
    subs = {(ANN, "video"): subscription(ANN, source()), (BOB, "video"): subscription(BOB, source())}
    tick(ctl, subs, 0.0, sizes={tile_key(ANN, "video"): TileSize(300, 160)})
    assert subs[(ANN, "video")].track.target_layer == 0
    assert subs[(BOB, "video")].track.target_layer == 2  # no size said: the highest
    assert ctl.chosen == {(ANN, "video"): 0, (BOB, "video"): 2}


def test_a_drop_pauses_the_lower_priority_camera_first_and_recovery_waits() -> None:
    ctl = controller(10_000_000)
    subs = {(ANN, "video"): subscription(ANN, source()), (BOB, "video"): subscription(BOB, source())}
    tick(ctl, subs, 0.0, pinned=frozenset({BOB}))
    ctl.estimator.estimate = 250_000
    assert tick(ctl, subs, 0.25, pinned=frozenset({BOB}))  # a pause changed
    assert subs[(BOB, "video")].track.target_layer == 0 and not subs[(BOB, "video")].bandwidth_paused
    assert subs[(ANN, "video")].bandwidth_paused and ctl.chosen[(ANN, "video")] == PAUSED
    ctl.estimator.estimate = 10_000_000
    assert not tick(ctl, subs, 0.5, pinned=frozenset({BOB}))  # up: not at once
    assert tick(ctl, subs, 1.1, pinned=frozenset({BOB}))  # a pause ends sooner, at the lowest layer
    assert not subs[(ANN, "video")].bandwidth_paused and ctl.chosen[(ANN, "video")] == 0
    tick(ctl, subs, 2.5, pinned=frozenset({BOB}))
    assert ctl.chosen == {(ANN, "video"): 0, (BOB, "video"): 0}  # further up: the full hold (from 0.5: 3.0)
    tick(ctl, subs, 3.1, pinned=frozenset({BOB}))
    assert ctl.chosen == {(ANN, "video"): 2, (BOB, "video"): 2}


def test_a_switch_down_right_after_a_cut_is_urgent_and_audio_sets_the_reserve() -> None:
    ctl = controller(10_000_000)
    subs = {(ANN, "video"): subscription(ANN, source())}
    ctl.tick(0.0, subs.items(), 0, sizes={}, pinned=frozenset(), speaker_rank=lambda u: None, audio_bytes=0)
    track = subs[(ANN, "video")].track
    assert track.targets == [2] and track.urgent == [False]
    ctl.tick(0.1, subs.items(), 0, sizes={tile_key(ANN, "video"): TileSize(640, 360)}, pinned=frozenset(),
             speaker_rank=lambda u: None, audio_bytes=0)
    assert track.targets == [2, 1] and track.urgent == [False, False]  # a smaller tile: no hurry
    ctl.estimator.estimate, ctl.estimator.congested_at = 400_000, 0.25  # a cut in this tick
    ctl.tick(0.25, subs.items(), 0, sizes={}, pinned=frozenset(), speaker_rank=lambda u: None, audio_bytes=1_000)
    assert track.targets == [2, 1, 0] and track.urgent == [False, False, True]
    # 200 kbit/s: q (150k) does not fit beside the fixed 64k reserve, it does beside 32k of measured audio
    ctl.estimator.estimate = 200_000
    ctl.tick(2.0, subs.items(), 0, sizes={}, pinned=frozenset(), speaker_rank=lambda u: None, audio_bytes=8_000)
    assert ctl.audio_bps is not None and 31_000 <= ctl.audio_bps <= 33_000  # 7000 bytes in 1.75 s
    assert ctl.chosen[(ANN, "video")] == 0 and not subs[(ANN, "video")].bandwidth_paused
    ctl.estimator.estimate = 100_000
    ctl.tick(2.25, subs.items(), 0, sizes={}, pinned=frozenset(), speaker_rank=lambda u: None, audio_bytes=9_000)
    assert subs[(ANN, "video")].bandwidth_paused  # audio first: the video pauses


def test_inactive_layers_are_skipped_and_indices_are_the_publishers() -> None:
    layers = (info("q", 320, 180, 150_000), info("h", 640, 360, 500_000, active=False),
              info("f", 1280, 720, 1_500_000))
    ctl = controller(1_000_000)
    subs = {(ANN, "video"): subscription(ANN, source(layers=layers))}
    tick(ctl, subs, 0.0)
    assert subs[(ANN, "video")].track.target_layer == 0
    ctl.estimator.estimate = 5_000_000
    tick(ctl, subs, 1.0)
    tick(ctl, subs, 3.6)
    assert subs[(ANN, "video")].track.target_layer == 2


def test_a_track_without_simulcast_is_one_layer_at_its_measured_rate() -> None:
    ctl = controller(1_500_000)
    # PublishedTrack.layers of a track without simulcast: one layer, at the rate it measured
    src = source(layers=(info(None, 640, 360, 1_000_000),))  # type: ignore[arg-type]
    subs = {(ANN, "video"): subscription(ANN, src)}
    tick(ctl, subs, 0.0)
    assert ctl.chosen[(ANN, "video")] == 0 and subs[(ANN, "video")].track.target_layer == 0
    tick(ctl, subs, 2.0)  # 1 Mbit/s fits
    assert ctl.chosen[(ANN, "video")] == 0
    ctl.estimator.estimate = 600_000  # no longer
    tick(ctl, subs, 2.25)
    assert subs[(ANN, "video")].bandwidth_paused


@pytest.mark.parametrize("sizes", [
    {"x" * 65: {"width": 1, "height": 1}}, {ANN: {"width": 0, "height": 1}}, {ANN: {"width": True, "height": 1}},
    {ANN: {"width": 1}}, {f"{ANN}:mic": {"width": 1, "height": 1}}, [1], {ANN: {"width": 1, "height": 20_000}},
    {f"{i:08d}-0000-4000-8000-000000000000": {"width": 1, "height": 1} for i in range(65)}])
def test_video_sizes_are_checked(sizes: Any) -> None:
    with pytest.raises(InvalidSignal) as err:
        video_sizes({"video_sizes": sizes})
    assert err.value.details.get("field") == "video_sizes"


def test_video_sizes_parse() -> None:
    assert video_sizes({}) == {}
    assert video_sizes({"video_sizes": {ANN: {"width": 320, "height": 180},
                                        f"{BOB}:screen": {"width": 1280, "height": 720}}}) == {
        ANN: TileSize(320, 180), f"{BOB}:screen": TileSize(1280, 720)}


async def test_the_peer_forwards_a_camera_only_if_last_n_and_bandwidth_allow() -> None:
    pc = RTCPeerConnection()

    async def send(*args: Any) -> None: ...

    peer = SfuPeer("room/x", CAT, pc, send, lambda u, f: None, layers=controller(10_000_000))
    try:
        ann, bob = subscription(ANN, source()), subscription(BOB, source())
        screen = subscription(BOB, source("screen", layers=(info("s", 1920, 1080, 200_000),)))
        peer.subscriptions = {(ANN, "video"): ann, (BOB, "video"): bob, (BOB, "screen"): screen}
        peer.allow_video({ANN})  # last-N: Bob's camera waits
        assert bob.track.paused and not ann.track.paused
        peer.control_layers(0.0)
        assert set(peer.layers.chosen) == {(ANN, "video"), (BOB, "screen")}  # Bob's camera is last-N's
        peer.layers.estimator.estimate = 300_000
        peer.control_layers(0.25)
        assert screen.track.paused is False and ann.bandwidth_paused and ann.track.paused  # screen first
        peer.allow_video(None)  # last-N lets Bob's camera through, bandwidth does not let Ann's
        assert ann.track.paused and not bob.track.paused
        peer.control_layers(0.5)
        assert bob.bandwidth_paused and bob.track.paused
        peer.allow_video({BOB})  # Ann's camera leaves last-N: its bandwidth pause is forgotten
        peer.control_layers(0.75)
        assert not ann.bandwidth_paused
        stats_layers = {k: peer._layer_of(k, s) for k, s in peer.subscriptions.items()}
        assert stats_layers[(BOB, "screen")] == 0 and stats_layers[(BOB, "video")] is None
    finally:
        await peer.close()


def test_settings_make_a_controller() -> None:
    ctl = BandwidthSettings(start_bps=700_000, audio_reserve_bps=50_000).controller()
    assert ctl.estimator.start_bps == 700_000 and ctl.policy.audio_reserve_bps == 50_000


def test_video_sizes_and_layer_stats_cross_the_media_node_wire() -> None:
    from adapters.grpc.media import preferences_from_pb, preferences_pb, stats_from_pb, stats_pb
    from domain.rooms.media import ParticipantMediaStats, TrackStats
    from proto.confero.media import v1 as pb

    payload = {"last_n": 4, "pinned": [ANN], "video_sizes": {ANN: {"width": 320, "height": 180},
                                                             f"{BOB}:screen": {"width": 1280, "height": 720}}}
    wire = pb.MediaPreferences().parse(bytes(preferences_pb(payload)))
    assert preferences_from_pb(wire) == payload
    assert preferences_from_pb(preferences_pb({"last_n": None})) == {"last_n": None}
    with pytest.raises(InvalidSignal):
        preferences_pb({"video_sizes": {ANN: {"width": -1, "height": 1}}})
    track = dict(publisher_id=ANN, kind="video", direction="outbound", active=True, bitrate_bps=1, packets=2,
                 packets_lost=0, rtt_ms=None, frames_forwarded=3)
    members = [ParticipantMediaStats(user_id=CAT, connection_state="connected", bandwidth_bps=750_000, tracks=(
        TrackStats(**track, layer=1), TrackStats(**track, layer=None, paused_for_bandwidth=True))),
        ParticipantMediaStats(user_id=BOB, connection_state="new", tracks=())]
    assert stats_from_pb(pb.StatsReply().parse(bytes(stats_pb(members)))) == members


def test_the_signaling_protocol_takes_video_sizes_and_refuses_bad_ones() -> None:
    import json

    from runners.signaling.protocol import ProtocolError, parse

    def frame(sizes: Any) -> str:
        return json.dumps({"v": 1, "type": "media_preferences", "id": "r",
                           "data": {"room_id": ANN, "video_sizes": sizes}})

    ok = {ANN: {"width": 640, "height": 360}, f"{BOB}:screen": {"width": 1920, "height": 1080}}
    assert parse(frame(ok))[2]["video_sizes"] == ok
    for bad in ({"bob": {"width": 1, "height": 1}}, {f"{ANN}:mic": {"width": 1, "height": 1}},
                {ANN: {"width": 0, "height": 1}}, {ANN: {"width": 1}}, {ANN: {"width": 1, "height": 1, "x": 1}},
                {f"00000000-0000-4000-8000-{i:012d}": {"width": 1, "height": 1} for i in range(65)}):
        with pytest.raises(ProtocolError) as err:
            parse(frame(bad))
        assert err.value.code == "invalid_message"
