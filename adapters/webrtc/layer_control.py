"""Per subscriber: its bandwidth estimate -> the layer policy -> each forwarded video's layer (issue 16).

``LayerController.tick(now)`` (the SfuPeer runs it every ``tick`` seconds: a few dozen arithmetic
operations per video subscription) reads the subscriber's estimate (``bandwidth.py``), builds one
``VideoWant`` per forwarded video that last-N lets through and the subscriber has answered, runs the
pure policy (``domain.rooms.layers``) and applies it: ``set_target_layer`` on the forwarded track
(simulcast, ``forwarding.py``) and, for a subscription the budget cannot carry even at its lowest
layer, a pause for bandwidth (``Subscription.bandwidth_paused``: a camera is forwarded only if
last-N AND bandwidth allow it).

A switch down within ``URGENT`` seconds of a cut of the estimate (the link is dropping packets) is
urgent: the forwarded track stops the old layer at once instead of at the new layer's keyframe
(``ForwardedTrack.set_target_layer``). The audio reserve of the policy is the subscriber's audio rate,
measured here from its audio senders' payload bytes (``audio_bytes``), once there is one.

Layer sizes and bitrates come from ``PublishedTrack.layers`` (``LayerInfo``); a track without
simulcast is one layer at its measured bitrate.  A layer whose bitrate is not known yet costs a
nominal 0.1 bit per pixel at its frame rate (1280x720 at 30 fps: 2.8 Mbit/s); costs never decrease
from one layer to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from attrs import define, field

from adapters.webrtc.bandwidth import BandwidthEstimator
from domain.rooms.layers import PAUSED, Layer, LayerPolicy, LayerState, TileSize, VideoWant, priority
from domain.shared.ids import UserId

TICK = 0.25
BITS_PER_PIXEL = 0.1
URGENT = 1.0  # seconds after a cut of the estimate during which a switch down is urgent
AUDIO_WINDOW = 1.0  # seconds: smoothing of the measured audio rate


def tile_key(publisher_id: str, label: str) -> str:
    """The ``video_sizes`` key of a forwarded video: ``<user id>`` (camera) or ``<user id>:<label>``."""
    return publisher_id if label == "video" else f"{publisher_id}:{label}"


def nominal_bitrate(width: int, height: int, fps: float) -> int:
    return int(width * height * (fps if fps > 0 else 30) * BITS_PER_PIXEL)


@define
class LayerController:
    estimator: BandwidthEstimator
    policy: LayerPolicy
    state: LayerState = field(factory=LayerState)
    chosen: dict[Any, int] = field(factory=dict)  # subscription key -> layer index (of all layers) or PAUSED
    estimate_bps: int = 0
    audio_bps: float | None = None  # the subscriber's audio rate (payload), once measured
    _audio_at: tuple[float, int] | None = None

    def tick(self, now: float, subscriptions: Iterable[Any], bytes_sent: int, *,
             sizes: Mapping[str, TileSize], pinned: frozenset[UserId],
             speaker_rank: Callable[[UserId], int | None], audio_bytes: int | None = None) -> bool:
        """Decide and apply; True when a subscription's bandwidth pause changed (the caller pauses or
        resumes tracks). ``subscriptions``: (key, Subscription) pairs of the videos to decide;
        ``audio_bytes``: the payload bytes its audio senders sent so far (None: not measured)."""
        self.estimate_bps = self.estimator.update(now, bytes_sent)
        self._measure_audio(now, audio_bytes)
        urgent = now - self.estimator.congested_at < URGENT
        wants, index_maps, subs = [], {}, {}
        for key, sub in subscriptions:
            layers, indices = self._layers(sub.source)
            label = sub.source.label
            wants.append(VideoWant(
                key=key, layers=layers, tile=sizes.get(tile_key(sub.publisher_id, label)),
                screen=label == "screen",
                priority=priority(screen=label == "screen", pinned=sub.publisher_id in pinned,
                                  speaker_rank=speaker_rank(sub.publisher_id))))
            index_maps[key], subs[key] = indices, sub
        previous = LayerState(chosen={k: self._local(v, index_maps[k]) for k, v in self.state.chosen.items()
                                      if k in index_maps}, up_since=self.state.up_since)
        decision = self.policy.decide(self.estimate_bps, wants, previous, now, self.audio_bps)
        changed = False
        chosen: dict[Any, int] = {}
        for key, local in decision.chosen.items():
            sub = subs[key]
            paused = local == PAUSED
            if paused != sub.bandwidth_paused:
                sub.bandwidth_paused, changed = paused, True
            layer = PAUSED if paused else index_maps[key][local]
            chosen[key] = layer
            set_target = getattr(sub.track, "set_target_layer", None)
            if not paused and set_target is not None and getattr(sub.track, "target_layer", None) != layer:
                set_target(layer, urgent=urgent)
        self.chosen = chosen
        self.state = LayerState(chosen=dict(chosen), up_since=decision.state.up_since)
        return changed

    def _measure_audio(self, now: float, audio_bytes: int | None) -> None:
        if audio_bytes is None:
            return
        if self._audio_at is not None and now > self._audio_at[0]:
            dt = now - self._audio_at[0]
            rate = max(0, audio_bytes - self._audio_at[1]) * 8 / dt
            if self.audio_bps is None:
                self.audio_bps = rate
            else:
                self.audio_bps += (rate - self.audio_bps) * min(1.0, dt / AUDIO_WINDOW)
        self._audio_at = (now, audio_bytes)

    @staticmethod
    def _local(layer: int, indices: tuple[int, ...]) -> int:
        """A layer index among all the source's layers -> among its active ones (the nearest below)."""
        if layer == PAUSED:
            return PAUSED
        below = [i for i, real in enumerate(indices) if real <= layer]
        return below[-1] if below else 0

    @staticmethod
    def _layers(source: Any) -> tuple[tuple[Layer, ...], tuple[int, ...]]:
        infos = source.layers  # a track without simulcast: one layer, always active, at its measured rate
        active = [(i, info) for i, info in enumerate(infos) if info.active]
        if not active:  # every layer paused by the publisher: the lowest, at no cost, until one comes back
            return (Layer(infos[0].width or 0, infos[0].height or 0, 0),), (0,)
        layers, floor = [], 0
        for _, info in active:
            width, height = info.width or 0, info.height or 0  # None: no keyframe seen yet
            rate = info.bitrate_bps or nominal_bitrate(width, height, info.fps or 0)
            floor = max(floor, int(rate))
            layers.append(Layer(width, height, floor))
        return tuple(layers), tuple(i for i, _ in active)


@define(frozen=True)
class BandwidthSettings:
    """The SFU's bandwidth and layer choice (APP_SFU_BWE_*, runners/settings.py)."""

    start_bps: int = 1_000_000
    audio_reserve_bps: int = 64_000
    up_margin: float = 1.15
    up_hold: float = 2.5
    resume_hold: float = 0.5
    retry_after: float = 10.0
    tick: float = TICK

    def controller(self) -> LayerController:
        return LayerController(
            BandwidthEstimator(start_bps=self.start_bps, retry_after=self.retry_after),
            LayerPolicy(audio_reserve_bps=self.audio_reserve_bps, up_margin=self.up_margin, up_hold=self.up_hold,
                        resume_hold=self.resume_hold))
