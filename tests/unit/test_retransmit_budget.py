"""Retransmissions to a subscriber after its video was turned down stay within a share of its bandwidth
estimate (adapters/webrtc/retransmit.py), and the SFU's senders ask that budget before answering a NACK
(the aiortc reach in aiortc_internals.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiortc.rtcrtpsender import RTP_HISTORY_SIZE
from aiortc.rtp import RtpPacket

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.retransmit import RetransmitBudget


def test_every_nack_is_answered_until_a_layer_goes_down_then_only_the_budgets_share_for_a_while() -> None:
    budget = RetransmitBudget(share=0.2, burst_s=0.5, window_s=5.0)
    assert all(budget.allow(i * 0.001, 300_000, 1200) for i in range(1000))  # no switch down: all answered
    budget.turned_down(1.0)
    allowed = [budget.allow(1.0 + i * 0.001, 300_000, 1200) for i in range(1000)]  # 1000 NACKs in a second
    # 0.2 x 300 kbit/s: 60 kbit/s (~6 packets a second) plus a burst of half a second of it
    assert 6 <= sum(allowed) <= 10
    assert budget.refused == 1000 - sum(allowed) and budget.bytes_sent == 1200 * (1000 + sum(allowed))
    assert all(budget.allow(6.0 + i * 0.001, 300_000, 1200) for i in range(100))  # the window is over


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

        def allow(size: int) -> bool:
            asked.append(size)
            return next(answers)

        internals.gate_retransmissions(sender, allow)  # type: ignore[arg-type]
        for seq in (1, 2, 3, 1 + RTP_HISTORY_SIZE):  # the last: gone from the history, costs nothing
            await sender._retransmit(seq)
        return resent, asked

    assert asyncio.run(run()) == ([1, 3], [13, 14, 15])
