"""Retransmissions to a subscriber after its video was turned down stay within a share of its bandwidth
estimate (adapters/webrtc/retransmit.py), and the SFU's senders ask that budget before answering a NACK
(the aiortc reach in aiortc_internals.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiortc.rtcrtpsender import RTP_HISTORY_SIZE
from aiortc.rtp import RtpPacket

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.retransmit import RetransmitBudget, sent_before


def test_every_nack_is_answered_until_a_layer_goes_down_then_only_the_budgets_share_for_a_while() -> None:
    budget = RetransmitBudget(share=0.2, burst_s=0.5, window_s=5.0, steady_share=0.5)
    assert all(budget.allow(i * 0.001, 20_000_000, 1200) for i in range(1000))  # no switch down: half the estimate
    budget.turned_down(1.0)
    allowed = [budget.allow(1.0 + i * 0.001, 300_000, 1200) for i in range(1000)]  # 1000 NACKs in a second
    # 0.2 x 300 kbit/s: 60 kbit/s (~6 packets a second) plus a burst of half a second of it
    assert 6 <= sum(allowed) <= 10
    assert budget.refused == 1000 - sum(allowed) and budget.bytes_sent == 1200 * (1000 + sum(allowed))
    assert all(budget.allow(6.0 + i * 0.01, 20_000_000, 1200) for i in range(100))  # the window is over


def test_a_storm_of_nacks_on_a_full_link_is_answered_within_half_the_estimate() -> None:
    budget = RetransmitBudget(steady_share=0.5, burst_s=0.5)
    allowed = sum(budget.allow(i * 0.001, 300_000, 1200) for i in range(2000))  # 1000 NACKs a second, 2 s
    assert 30 <= allowed <= 40  # 150 kbit/s of 1200-byte packets for 2 s (~31), plus a burst of a quarter second


def test_the_sender_answers_a_nack_only_when_the_budget_allows_and_it_still_has_the_packet() -> None:
    async def run() -> tuple[list[int], list[int]]:
        resent: list[int] = []
        asked: list[int] = []

        async def original(sequence_number: int) -> None:
            resent.append(sequence_number)

        history = {seq % RTP_HISTORY_SIZE: RtpPacket(sequence_number=seq, payload=bytes(seq)) for seq in (1, 2, 3)}
        # stands in for an RTCRtpSender instance: its _retransmit and its packet history
        sender = SimpleNamespace(_retransmit=original, **{internals.SENDER_HISTORY: history})
        answers = iter([True, False, True])

        def allow(size: int, timestamp: int) -> bool:
            asked.append(size)
            return next(answers)

        internals.gate_retransmissions(sender, allow)  # type: ignore[arg-type]
        for seq in (1, 2, 3, 1 + RTP_HISTORY_SIZE):  # the last: gone from the history, costs nothing
            await sender._retransmit(seq)
        return resent, asked

    assert asyncio.run(run()) == ([1, 3], [13, 14, 15])


def test_after_a_switch_down_the_old_layers_packets_are_not_resent_at_all() -> None:
    budget = RetransmitBudget(share=0.2, burst_s=0.5, window_s=5.0)
    budget.turned_down(1.0)
    assert not budget.allow(1.0, 10_000_000, 100, stale=True)  # plenty of budget, but a layer left behind
    assert budget.allow(1.0, 10_000_000, 100)  # the new layer's (its keyframe's) packets: within the budget
    assert budget.allow(7.0, 10_000_000, 100, stale=True)  # the window is over: answered within the steady share


def test_sent_before_reads_the_senders_timestamps_against_ours_whatever_its_origin() -> None:
    origin = 0xFFFF_F000  # the sender's random origin: its timestamps wrap around soon
    switched, last = 90_000, 93_000  # ours: the new layer started at 90000, the frame handed out last is 93000
    sent_last = (origin + last) % (1 << 32)
    for ours, old in ((87_000, True), (89_999, True), (90_000, False), (93_000, False)):
        assert sent_before(switched, last, sent_last, (origin + ours) % (1 << 32)) is old
    # the sender still sending the frame before the last one handed out: packets look newer, never older
    assert not sent_before(switched, last, (origin + 90_000) % (1 << 32), (origin + 90_000) % (1 << 32))
    assert not sent_before(None, last, sent_last, 0)  # no switch yet


def test_an_urgent_switch_down_stops_the_old_layer_at_once_and_marks_where_the_new_one_starts() -> None:
    from tests.unit.test_simulcast import drain, settle, simulcast_rig

    async def run() -> None:
        rig, published = await simulcast_rig()
        track = published.subscribe()
        await rig.round(keyframes=("f",))
        await rig.round()
        before = await drain(track)
        assert [s[0] for s in before] == [2, 2] and track.stale_before is None
        await rig.round()  # queued, not sent yet: dropped by the urgent switch
        track.set_target_layer(0, urgent=True)
        assert track.stale_before == before[-1][1] + 1  # from now on, what went out is of no use
        await settle()
        await rig.round()  # no keyframe of q yet: nothing of f goes out any more (a lenient switch sends it)
        assert track._queue.empty() and track.current_layer == 2
        await rig.frame("q", keyframe=True)
        await rig.round()
        sent = await drain(track)
        assert [s[0] for s in sent] == [0, 0] and sent[0][3]
        assert track.stale_before == sent[0][1] and track.timestamp_out == sent[1][1]
        assert 0 < sent[0][1] - before[-1][1] <= 3000 * 4  # time still runs on across the frames dropped
        published.close()

    asyncio.run(run())
