"""The layer policy (domain/rooms/layers.py): properties over random subscriptions and estimates."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.rooms.layers import (PAUSED, Layer, LayerPolicy, LayerState, TileSize, VideoWant, allocate,
                                 priority)

POLICY = LayerPolicy(audio_reserve_bps=64_000, up_margin=1.15, up_hold=2.5)
FAST = settings(max_examples=60, deadline=None)


@st.composite
def layer_sets(draw: st.DrawFn) -> tuple[Layer, ...]:
    n = draw(st.integers(1, 3))
    base_w = draw(st.sampled_from([160, 320, 640]))
    rates = sorted(draw(st.lists(st.integers(30_000, 3_000_000), min_size=n, max_size=n)))
    return tuple(Layer(base_w << i, (base_w << i) * 9 // 16, rates[i]) for i in range(n))


@st.composite
def want_lists(draw: st.DrawFn) -> list[VideoWant]:
    n = draw(st.integers(0, 6))
    wants = []
    for i in range(n):
        tile = draw(st.none() | st.builds(TileSize, st.integers(1, 1920), st.integers(1, 1080)))
        wants.append(VideoWant(key=f"s{i}", layers=draw(layer_sets()), tile=tile,
                               screen=draw(st.booleans()), priority=draw(st.integers(0, 5))))
    return wants


estimates = st.integers(0, 12_000_000)


def cost(wants: list[VideoWant], chosen: dict) -> int:
    return sum(w.cost(chosen[w.key]) for w in wants)


def settled(wants: list[VideoWant], estimate: int) -> dict:
    """Where the choice ends after the estimate has held long enough."""
    state, now = LayerState(), 0.0
    for _ in range(4):
        decision = POLICY.decide(estimate, wants, state, now)
        state, now = decision.state, now + 3.0
    return dict(decision.chosen)


@FAST
@given(want_lists(), estimates, estimates, st.floats(0, 10))
def test_never_over_the_video_budget(wants, before, after, dt) -> None:
    first = POLICY.decide(before, wants, LayerState(), 0.0)
    assert cost(wants, first.chosen) <= POLICY.budget(before)
    second = POLICY.decide(after, wants, first.state, dt)
    assert cost(wants, second.chosen) <= POLICY.budget(after)


@FAST
@given(want_lists(), estimates)
def test_never_higher_than_the_tile_needs(wants, estimate) -> None:
    for want in wants:
        chosen = settled(wants, estimate)[want.key]
        assert chosen <= want.wanted()
        if want.tile is not None and chosen > 0:
            assert not want.layers[chosen - 1].fills(want.tile)  # the one below would not do


@FAST
@given(want_lists())
def test_plenty_of_bandwidth_gives_each_the_layer_its_tile_needs(wants) -> None:
    assert settled(wants, 10**9) == {w.key: w.wanted() for w in wants}


@FAST
@given(want_lists(), estimates)
def test_spare_budget_is_used_when_a_cheaper_choice_is_not_needed(wants, estimate) -> None:
    """Settled: no subscription could go one layer up (or start) within what is left of the budget."""
    chosen = settled(wants, estimate)
    left = POLICY.budget(estimate) / POLICY.up_margin - cost(wants, chosen)
    for want in wants:
        now = chosen[want.key]
        if now < want.wanted() and now != PAUSED:
            assert want.cost(now + 1) - want.cost(now) > left


@FAST
@given(want_lists(), estimates)
def test_lowest_layers_go_in_priority_order(wants, estimate) -> None:
    """Paused only when its lowest layer did not fit what the ones before it left."""
    chosen = allocate(POLICY.budget(estimate), wants)
    left = POLICY.budget(estimate)
    for want in sorted(wants, key=lambda w: (w.priority, not w.screen, str(w.key))):
        if chosen[want.key] == PAUSED:
            assert want.cost(0) > left
        else:
            left -= want.cost(0)


@FAST
@given(want_lists(), estimates, estimates)
def test_more_bandwidth_never_gives_less_video(wants, low, high) -> None:
    low, high = sorted((low, high))
    a, b = allocate(POLICY.budget(low), wants), allocate(POLICY.budget(high), wants)
    assert cost(wants, a) <= cost(wants, b)
    if wants:
        top = min(wants, key=lambda w: (w.priority, not w.screen, str(w.key))).key
        assert a[top] <= b[top]


@FAST
@given(want_lists(), estimates, estimates, st.floats(0, 2.4))
def test_up_switch_never_immediate(wants, before, after, dt) -> None:
    state = POLICY.decide(before, wants, LayerState(), 0.0).state
    decision = POLICY.decide(after, wants, state, dt)
    for want in wants:
        assert decision.chosen[want.key] <= state.chosen[want.key]


@FAST
@given(want_lists(), estimates, estimates)
def test_down_switch_immediate(wants, before, after) -> None:
    state = LayerState()
    for t in (0.0, 3.0, 6.0):
        state = POLICY.decide(before, wants, state, t).state
    decision = POLICY.decide(after, wants, state, 6.01)
    fits = allocate(POLICY.budget(after), wants)
    for want in wants:
        assert decision.chosen[want.key] <= max(fits[want.key], PAUSED)
        if fits[want.key] < state.chosen[want.key]:
            assert decision.chosen[want.key] == fits[want.key]


@FAST
@given(want_lists(), estimates, st.floats(0.2, 1.0))
def test_up_switch_after_the_hold_without_a_break(wants, estimate, step) -> None:
    start = POLICY.decide(estimate // 4, wants, LayerState(), 0.0)
    state, t = start.state, 0.0
    while t + step < step + POLICY.up_hold:  # the hold starts at the first tick with the new estimate
        t += step
        decision = POLICY.decide(estimate, wants, state, t)
        for k, chosen in decision.chosen.items():  # nothing up yet, but a pause may end at the lowest layer
            assert chosen <= start.chosen[k] or (start.chosen[k] == PAUSED and chosen == 0
                                                 and t - step >= POLICY.resume_hold)
        state = decision.state
    final = POLICY.decide(estimate, wants, state, step + POLICY.up_hold)
    cautious = allocate(POLICY.budget(estimate) / POLICY.up_margin, wants)
    fits = allocate(POLICY.budget(estimate), wants)
    for k, before in start.chosen.items():
        if before == PAUSED and 0 <= cautious[k] <= fits[k]:
            assert final.chosen[k] >= 0  # back at its lowest layer; its hold to go higher starts there
        elif cautious[k] > before and fits[k] >= cautious[k]:
            assert final.chosen[k] == cautious[k]  # held long enough: up to what the margin allows


@FAST
@given(want_lists(), estimates, st.floats(0.05, 1.0))
def test_a_pause_ends_at_the_lowest_layer_after_the_resume_hold(wants, estimate, step) -> None:
    paused = LayerState(chosen={w.key: PAUSED for w in wants})
    state, t, resumed = paused, 0.0, {}
    cautious = allocate(POLICY.budget(estimate) / POLICY.up_margin, wants)
    while t < POLICY.resume_hold + 2 * step:
        decision = POLICY.decide(estimate, wants, state, t)
        assert cost(wants, decision.chosen) <= POLICY.budget(estimate)
        for k, chosen in decision.chosen.items():
            assert chosen in (PAUSED, 0)  # from a pause: the lowest layer first, whatever the estimate
            if chosen == 0:
                resumed.setdefault(k, t)
        state, t = decision.state, t + step
    for want in wants:
        if cautious[want.key] >= 0:  # offered with the margin: back after the resume hold, not before
            assert POLICY.resume_hold <= resumed[want.key] <= POLICY.resume_hold + step
        else:
            assert want.key not in resumed


def test_the_audio_reserve_follows_the_measured_audio() -> None:
    assert POLICY.budget(300_000) == 300_000 - POLICY.audio_reserve_bps  # nothing measured yet
    assert POLICY.budget(300_000, 40_000) == 300_000 - 44_000  # 40k with its 10% margin
    assert POLICY.budget(300_000, 0) == 300_000 - POLICY.audio_floor_bps
    assert POLICY.budget(300_000, 400_000) == 0  # a room's worth of audio: no video at all
    want = VideoWant("a", [Layer(320, 180, 150_000), Layer(1280, 720, 1_500_000)])
    assert POLICY.decide(200_000, [want], LayerState(chosen={"a": 0}), 0.0).chosen["a"] == PAUSED
    assert POLICY.decide(200_000, [want], LayerState(chosen={"a": 0}), 0.0, audio_bps=30_000).chosen["a"] == 0


def test_a_dip_restarts_the_hold() -> None:
    want = VideoWant("a", [Layer(320, 180, 150_000), Layer(1280, 720, 1_500_000)])
    state = POLICY.decide(400_000, [want], LayerState(), 0.0).state
    assert state.chosen["a"] == 0
    rich = 2_000_000
    state = POLICY.decide(rich, [want], state, 1.0).state
    state = POLICY.decide(400_000, [want], state, 2.0).state  # the hold breaks
    state = POLICY.decide(rich, [want], state, 3.0).state
    assert POLICY.decide(rich, [want], state, 4.0).chosen["a"] == 0
    assert POLICY.decide(rich, [want], state, 5.6).chosen["a"] == 1


def test_the_margin_keeps_a_layer_that_barely_fits_from_being_taken() -> None:
    want = VideoWant("a", [Layer(320, 180, 150_000), Layer(1280, 720, 1_000_000)])
    state = POLICY.decide(300_000, [want], LayerState(), 0.0).state
    barely = 1_000_000 + POLICY.audio_reserve_bps + 10_000
    for t in (1.0, 5.0, 10.0):
        state = POLICY.decide(barely, [want], state, t).state
    assert state.chosen["a"] == 0
    # ...but a subscription already on it keeps it (the way down needs the estimate below it)
    on = LayerState(chosen={"a": 1})
    assert POLICY.decide(barely, [want], on, 0.0).chosen["a"] == 1


def test_audio_first_then_screen_then_pinned_when_short() -> None:
    layers = [Layer(320, 180, 200_000), Layer(1280, 720, 1_200_000)]
    screen = VideoWant("screen", [Layer(1920, 1080, 300_000)], screen=True,
                       priority=priority(screen=True, pinned=False, speaker_rank=None))
    pinned = VideoWant("pinned", layers, priority=priority(screen=False, pinned=True, speaker_rank=3))
    speaker = VideoWant("speaker", layers, priority=priority(screen=False, pinned=False, speaker_rank=0))
    other = VideoWant("other", layers, priority=priority(screen=False, pinned=False, speaker_rank=None))
    wants = [other, speaker, pinned, screen]
    assert allocate(POLICY.budget(60_000), wants) == dict.fromkeys(["other", "speaker", "pinned", "screen"], PAUSED)
    assert allocate(POLICY.budget(600_000), wants) == {"screen": 0, "pinned": 0, "speaker": PAUSED, "other": PAUSED}
    big_screen = VideoWant("screen", [Layer(1920, 1080, 900_000)], screen=True, priority=0)
    assert allocate(POLICY.budget(600_000), [big_screen, pinned, speaker]) == {  # cheaper ones still start
        "screen": PAUSED, "pinned": 0, "speaker": 0}
    assert allocate(POLICY.budget(1_000_000), wants) == {"screen": 0, "pinned": 0, "speaker": 0, "other": 0}
    assert allocate(POLICY.budget(2_000_000), wants) == {"screen": 0, "pinned": 1, "speaker": 0, "other": 0}


def test_the_smallest_layer_that_fills_the_tile() -> None:
    layers = [Layer(320, 180, 1), Layer(640, 360, 2), Layer(1280, 720, 3)]
    assert VideoWant("a", layers, tile=TileSize(300, 170)).wanted() == 0
    assert VideoWant("a", layers, tile=TileSize(321, 100)).wanted() == 1
    assert VideoWant("a", layers, tile=TileSize(640, 361)).wanted() == 2
    assert VideoWant("a", layers, tile=TileSize(4000, 3000)).wanted() == 2
    assert VideoWant("a", layers).wanted() == 2


def test_layers_must_go_low_to_high() -> None:
    with pytest.raises(ValueError):
        VideoWant("a", [Layer(1280, 720, 2_000_000), Layer(320, 180, 100_000)])
    with pytest.raises(ValueError):
        VideoWant("a", [])


def test_a_publisher_dropping_its_top_layer_moves_the_choice_down() -> None:
    three = VideoWant("a", [Layer(320, 180, 100_000), Layer(640, 360, 400_000), Layer(1280, 720, 1_500_000)])
    one = VideoWant("a", [Layer(320, 180, 100_000)])
    state = LayerState(chosen={"a": 2})
    assert POLICY.decide(5_000_000, [one], state, 0.0).chosen["a"] == 0
    assert POLICY.decide(5_000_000, [three], state, 0.0).chosen["a"] == 2
