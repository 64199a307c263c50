"""How much of a subscriber's link may go to retransmissions after its video was turned down (issue 16).

aiortc answers every NACK at once, unpaced, from its history of recent packets. When a narrow link
(a token bucket that drops what exceeds it) makes the SFU switch a subscriber to a lower layer, the
higher layer's packets lost on the way are NACKed one by one, and resending them -- larger than what
the link carries, about a layer the subscriber has already left -- keeps the link full: audio and the
new, lower layer are lost with them, the receiver reports the loss and the estimate goes on falling
(in the weak-link browser test: to its 50 kbit/s floor, video paused, on a 300 kbit/s link).

So for ``window_s`` seconds after a video of the connection went to a lower layer, a packet of the
layer it left (``stale``: sent before the new layer's first frame) is not resent at all -- the
receiver starts again at the new layer's keyframe and Chromium then stops asking for the old ones
-- and the rest is capped at ``share`` of its bandwidth estimate (a token bucket with a burst of
``burst_s`` seconds of it): the new layer's keyframe, when part of it was lost, is repaired first. A
NACK beyond that goes unanswered (Chromium asks for a keyframe when it must).
Otherwise NACKs are answered within ``steady_share`` of the estimate: enough for the few percent a
working link loses (aiortc's own receiver waits for a missing packet until 512 more have come, so an
unanswered NACK would stall its video), not for a storm -- on a link that is full, every
retransmission lost is asked for again, up to 10 times by Chromium: answering them all kept a 300
kbit/s link losing 10-70% of what the SFU sent with only the lowest layer on it. Pure arithmetic on
numbers handed in with their time.
"""

from __future__ import annotations

from attrs import define, field

SHARE = 0.2
STEADY_SHARE = 0.5
BURST_S = 0.5
WINDOW_S = 5.0


def sent_before(switched: int | None, ours_last: int | None, sent_last: int | None, sent: int) -> bool:
    """Whether a packet with RTP timestamp ``sent`` (the sender's clock) is older than the frame a switch
    started with (``switched``, our clock), knowing the frame last handed out (``ours_last``, our clock)
    and the timestamp of the last packet sent (``sent_last``, the sender's). 32-bit wrapping."""
    if switched is None or ours_last is None or sent_last is None:
        return False
    ours = (ours_last + sent - sent_last) % (1 << 32)
    return 0 < (switched - ours) % (1 << 32) < 1 << 31


@define
class RetransmitBudget:
    share: float = SHARE
    steady_share: float = STEADY_SHARE
    burst_s: float = BURST_S
    window_s: float = WINDOW_S
    sent: int = field(init=False, default=0)  # retransmissions let through
    refused: int = field(init=False, default=0)
    bytes_sent: int = field(init=False, default=0)  # their bytes (not in the estimate's send rate)
    limited_until: float = field(init=False, default=float("-inf"))
    _tokens: float = field(init=False, default=0.0)  # bits
    _at: float | None = field(init=False, default=None)

    def turned_down(self, now: float) -> None:
        """A video of the connection went to a lower layer at ``now`` (a pause does not count: a receiver
        that stalls on a gap, as aiortc's does, needs its NACKs answered to play again after it)."""
        if now >= self.limited_until:
            self._at = None  # a fresh bucket, at the lower share
        self.limited_until = now + self.window_s

    def allow(self, now: float, estimate_bps: float, size: int, stale: bool = False) -> bool:
        """May a packet of ``size`` bytes be resent now? ``stale``: it belongs to a layer the video left."""
        steady = now >= self.limited_until
        if stale and not steady:
            self.refused += 1
            return False
        rate = max(0.0, estimate_bps) * (self.steady_share if steady else self.share)
        cap = rate * self.burst_s
        if self._at is None:
            self._tokens = cap
        else:
            self._tokens = min(cap, self._tokens + rate * max(0.0, now - self._at))
        self._at = now
        if self._tokens < size * 8:
            self.refused += 1
            return False
        self._tokens -= size * 8
        return self._send(size)

    def _send(self, size: int) -> bool:
        self.sent += 1
        self.bytes_sent += size
        return True
