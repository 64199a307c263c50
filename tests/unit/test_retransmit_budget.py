"""Retransmissions to a subscriber stay within a share of its bandwidth estimate (adapters/webrtc/retransmit.py),
and the SFU's senders ask that budget before answering a NACK (the aiortc reach in aiortc_internals.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.retransmit import RetransmitBudget


def test_a_nack_storm_gets_only_the_budgets_share_of_the_estimate() -> None:
    budget = RetransmitBudget(share=0.2, burst_s=0.5, packet_bytes=1200)
    allowed = [budget.allow(i * 0.001, 300_000) for i in range(1000)]  # 1000 NACKs in one second
    # 0.2 x 300 kbit/s: 60 kbit/s (~6 packets a second) plus a burst of half a second of it
    assert 6 <= sum(allowed) <= 10
    assert budget.refused == 1000 - sum(allowed) and budget.bytes_sent == 1200 * sum(allowed)
    assert budget.allow(10.0, 20_000_000)  # a wide link: retransmissions flow
    assert sum(budget.allow(10.0 + i * 0.01, 20_000_000) for i in range(100)) == 100


def test_the_sender_answers_a_nack_only_when_the_budget_allows() -> None:
    async def run() -> list[int]:
        resent: list[int] = []

        async def original(sequence_number: int) -> None:
            resent.append(sequence_number)

        sender = SimpleNamespace(_retransmit=original)  # stands in for an RTCRtpSender instance
        answers = iter([True, False, True])
        internals.gate_retransmissions(sender, lambda: next(answers))  # type: ignore[arg-type]
        for seq in (1, 2, 3):
            await sender._retransmit(seq)
        return resent

    assert asyncio.run(run()) == [1, 3]
