"""Which simulcast layer each of a subscriber's video subscriptions gets (issue 16): pure policy.

Input, every tick of the subscriber's controller: its bandwidth estimate (bit/s), its video
subscriptions (``VideoWant``: the publisher's layers low -> high, the size the subscriber renders
the tile at if it said, whether it is a screen share, its priority) and the previous ``LayerState``.
Output (``LayerDecision``): per subscription a layer index, or ``PAUSED`` (no video for lack of
bandwidth), and the state for the next tick.

Rules:
- the layer a subscription *wants* is the smallest whose width and height both fill its tile, else
  the highest (no tile size known: the highest);
- the video budget is the estimate minus what audio needs: the subscriber's measured audio rate times
  ``audio_margin`` (at least ``audio_floor_bps``), or ``audio_reserve_bps`` while none is measured
  (the estimate and the rates are all of RTP payload: what a receiver report's packets carried).
  Audio is never dropped, video pauses first, so the chosen video never costs more than the budget;
- the budget goes out in priority order (lower ``priority`` first: screen shares, pinned members,
  the active speaker...): first every subscription's lowest layer (one that does not fit what is
  left is paused, and cheaper ones after it may still start), then one layer up at a time, round
  by round, towards what each wants;
- the estimate is followed DOWN at once; UP cautiously: a subscription goes up only after an
  allocation with every layer's bitrate times ``up_margin`` has offered it the higher layer for
  ``up_hold`` seconds without a break (a new subscription starts at that cautious allocation). A
  paused one comes back sooner, after ``resume_hold`` seconds, and to its lowest layer only: a paused
  picture is worse than a small one, and the lowest layer is cheap to take back.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from attrs import field, frozen

PAUSED = -1  # the index of "no layer": paused for bandwidth


@frozen
class Layer:
    width: int
    height: int
    bitrate_bps: int

    def fills(self, tile: TileSize) -> bool:
        return self.width >= tile.width and self.height >= tile.height


@frozen
class TileSize:
    width: int
    height: int


def _check_layers(instance: object, attribute: object, layers: tuple[Layer, ...]) -> None:
    if not layers:
        raise ValueError("a video subscription has at least one layer")
    if any(b.bitrate_bps < a.bitrate_bps for a, b in zip(layers, layers[1:])):
        raise ValueError("layers go from low to high: bitrates never decrease")
    if any(layer.bitrate_bps < 0 for layer in layers):
        raise ValueError("a layer's bitrate is >= 0")


@frozen
class VideoWant:
    """One video subscription of the subscriber, as the policy sees it."""

    key: Hashable
    layers: tuple[Layer, ...] = field(converter=tuple, validator=_check_layers)
    tile: TileSize | None = None
    screen: bool = False
    priority: int = 0  # lower goes first when the budget is short

    def wanted(self) -> int:
        """The smallest layer that fills the tile, else the highest."""
        if self.tile is not None:
            for index, layer in enumerate(self.layers):
                if layer.fills(self.tile):
                    return index
        return len(self.layers) - 1

    def cost(self, index: int) -> int:
        return 0 if index == PAUSED else self.layers[index].bitrate_bps


def priority(*, screen: bool, pinned: bool, speaker_rank: int | None) -> int:
    """Screen shares first, then pinned members, then by how recently the publisher spoke (rank 0:
    the active speaker), then the members never heard."""
    if screen:
        return 0
    if pinned:
        return 1
    return 2 + speaker_rank if speaker_rank is not None else 1_000_000


@frozen
class LayerState:
    """Per subscription key: the layer it has, and since when a higher one has been offered (or None)."""

    chosen: Mapping[Hashable, int] = field(factory=dict)
    up_since: Mapping[Hashable, float] = field(factory=dict)


@frozen
class LayerDecision:
    chosen: Mapping[Hashable, int]  # key -> layer index or PAUSED
    state: LayerState
    budget_bps: int

    def cost(self, wants: Sequence[VideoWant]) -> int:
        return sum(w.cost(self.chosen[w.key]) for w in wants)


def allocate(budget: float, wants: Sequence[VideoWant]) -> dict[Hashable, int]:
    """The layers ``budget`` buys: lowest layers in priority order (one that does not fit what is left
    is paused), then rounds of one layer up each, in priority order, up to what each wants."""
    order = sorted(wants, key=lambda w: (w.priority, not w.screen, str(w.key)))
    chosen = dict.fromkeys((w.key for w in wants), PAUSED)
    left = budget
    growing = []  # [key, layer now, bitrates up to the wanted layer]
    for want in order:
        rates = [layer.bitrate_bps for layer in want.layers[:want.wanted() + 1]]
        if rates[0] > left:
            continue
        chosen[want.key] = 0
        left -= rates[0]
        if len(rates) > 1:
            growing.append([want.key, 0, rates])
    while growing:
        still = []
        for entry in growing:
            key, now, rates = entry
            extra = rates[now + 1] - rates[now]
            if extra <= left:
                left -= extra
                entry[1] = chosen[key] = now + 1
                if now + 2 < len(rates):
                    still.append(entry)
        growing = still
    return chosen


@frozen
class LayerPolicy:
    audio_reserve_bps: int = 64_000  # before the subscriber's audio rate is measured
    up_margin: float = 1.15
    up_hold: float = 2.5  # seconds
    resume_hold: float = 0.5  # seconds, from a pause to the lowest layer
    audio_margin: float = 1.1  # on the measured audio rate: its ups and downs
    audio_floor_bps: int = 16_000  # kept even when no audio is heard yet (someone may start talking)

    def reserve(self, audio_bps: float | None = None) -> int:
        if audio_bps is None:
            return self.audio_reserve_bps
        return max(self.audio_floor_bps, int(audio_bps * self.audio_margin))

    def budget(self, estimate_bps: float, audio_bps: float | None = None) -> int:
        return max(0, int(estimate_bps) - self.reserve(audio_bps))

    def decide(self, estimate_bps: float, wants: Sequence[VideoWant], previous: LayerState,
               now: float, audio_bps: float | None = None) -> LayerDecision:
        """``audio_bps``: the subscriber's audio rate as measured (None: not yet)."""
        budget = self.budget(estimate_bps, audio_bps)
        fits = allocate(budget, wants)  # what the estimate allows now: the way down
        cautious = allocate(budget / self.up_margin, wants)  # what it allows with margin: the way up
        chosen: dict[Hashable, int] = {}
        up_since: dict[Hashable, float] = {}
        for want in wants:
            key = want.key
            before = previous.chosen.get(key)
            if before is None:  # a new subscription: no switch, it starts where caution allows
                chosen[key] = cautious[key]
                continue
            before = min(before, len(want.layers) - 1)  # the publisher dropped layers meanwhile
            if fits[key] < before:
                chosen[key] = fits[key]
            elif cautious[key] > before:
                since = previous.up_since.get(key, now)
                if now - since >= self.up_hold:
                    chosen[key] = cautious[key]
                elif before == PAUSED and now - since >= self.resume_hold:
                    chosen[key], up_since[key] = 0, since  # the hold for more goes on
                else:
                    chosen[key], up_since[key] = before, since
            else:
                chosen[key] = before
        if sum(w.cost(chosen[w.key]) for w in wants) > budget:
            # Kept layers plus cautious raises may not add up: never above what the estimate buys.
            chosen = {k: min(v, fits[k]) for k, v in chosen.items()}
            up_since = {k: t for k, t in up_since.items() if chosen[k] == previous.chosen.get(k)}
        return LayerDecision(chosen=chosen, state=LayerState(chosen=dict(chosen), up_since=up_since),
                             budget_bps=budget)
