"""How much of a subscriber's link may go to retransmissions (issue 16).

aiortc answers every NACK at once, unpaced, from its history of recent packets. On a narrow link
(a token bucket that drops what exceeds it) the loss of a higher layer is NACKed packet by packet,
and resending those packets -- larger than what the link carries, about a layer the SFU has already
left -- keeps the link full: audio and the new, lower layer are lost with them, the receiver reports
the loss, and the estimate goes on falling. A token bucket per subscriber connection caps
retransmissions at ``share`` of its bandwidth estimate (with a burst of ``burst_s`` seconds of it);
a NACK beyond it goes unanswered (the receiver asks for a keyframe if it must). Pure arithmetic
on numbers handed in with their time.
"""

from __future__ import annotations

from attrs import define, field

SHARE = 0.2
BURST_S = 0.5
PACKET_BYTES = 1200  # what a retransmitted video packet costs (aiortc packetizes video to <= 1200 bytes)


@define
class RetransmitBudget:
    share: float = SHARE
    burst_s: float = BURST_S
    packet_bytes: int = PACKET_BYTES
    sent: int = field(init=False, default=0)  # retransmissions let through
    refused: int = field(init=False, default=0)
    bytes_sent: int = field(init=False, default=0)  # their (nominal) bytes, on top of what the senders send
    _tokens: float = field(init=False, default=0.0)  # bits
    _at: float | None = field(init=False, default=None)

    def allow(self, now: float, estimate_bps: float) -> bool:
        rate = max(0.0, estimate_bps) * self.share
        cap = rate * self.burst_s
        if self._at is None:
            self._tokens = cap
        else:
            self._tokens = min(cap, self._tokens + rate * max(0.0, now - self._at))
        self._at = now
        bits = self.packet_bytes * 8
        if self._tokens < bits:
            self.refused += 1
            return False
        self._tokens -= bits
        self.sent += 1
        self.bytes_sent += self.packet_bytes
        return True
