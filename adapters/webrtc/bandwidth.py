"""How much a subscriber's link carries: one estimate per subscriber peer connection (issue 16).

Two signals, both RTCP from the subscriber to the SFU's senders:

- REMB: Chromium and aiortc receivers estimate from packet delays (aiortc negotiates ``goog-remb`` and
  ``abs-send-time``) and send it; aiortc sets it as the ``target_bitrate`` of the sender's encoder,
  which for a forwarded track is our ``ForwardingPacketizer``. A receiver in its "increase" state
  reports up to ~1.5x what it receives (so REMB alone never lets a sender climb to a much higher
  layer); when it detects over-use it reports ~0.85x what it receives. REMB therefore *limits* only
  when it falls below what the SFU sends (``REMB_CONGESTED`` of the send rate) **and** the latest
  receiver reports show some loss (>= 2%): then it says how far to cut. Alone it is not trusted:
  aiortc's estimator reports 0.1-0.6x what it receives with no loss at all (at its start, and when
  the event loop of a busy machine delays packets), and a delay-based estimate is fooled the same
  way by the SFU's own scheduling jitter. A browser sends one REMB for the connection, aiortc one
  per video stream: the estimate reads the sum of the latest REMB per set of SSRCs.
- Loss (GCC-style), from the receiver reports' cumulative counts over all the subscriber's streams:
  more than 10% lost cuts the estimate to the send rate times (1 - loss/2), but never below what the
  receiver got meanwhile (what was sent since the last loss figure times 1 - loss: a link that
  carries 300 kbit/s is not cut to 50); less than 2% lets it grow (``growth`` per second); in
  between it holds. A token-bucket-limited link (tc tbf: it drops) is caught this way even when REMB
  reacts slowly.

A cut (loss or REMB) is followed by ``CUT_SETTLE`` seconds in which feedback cuts nothing and the
loss counted meanwhile is dropped: reports and REMBs then still describe what was sent before the cut
(the higher layer, the queue of a token bucket) -- one cut per feedback interval, not one per
controller tick.

After a congestion signal the estimate grows no higher than just below the send rate at which it
happened (``ceiling``) until ``retry_after`` seconds pass without one: a weak link is probed again
from time to time, not every few seconds. Everything here is arithmetic on numbers handed in with
their time: no I/O, no clock of its own.
"""

from __future__ import annotations

from attrs import define, field

START_BPS = 1_000_000
MIN_BPS = 50_000
MAX_BPS = 20_000_000
LOSS_HIGH = 0.10
LOSS_LOW = 0.02
REMB_CONGESTED = 0.95  # REMB below this share of the send rate: the receiver signals over-use
MIN_PACKETS = 20  # a loss figure needs at least this many packets expected
RATE_WINDOW = 1.0  # seconds: smoothing of the send rate
FEEDBACK_FRESH = 3.0  # seconds: growth needs a loss figure this recent (no feedback, no growth)
CUT_SETTLE = 1.0  # seconds after a cut whose feedback still describes what was sent before it


@define
class _StreamReport:
    highest: int
    lost: int


@define
class BandwidthEstimator:
    start_bps: int = START_BPS
    min_bps: int = MIN_BPS
    max_bps: int = MAX_BPS
    growth: float = 1.25  # per second, while loss stays low
    retry_after: float = 10.0
    estimate: float = field(init=False)
    send_rate: float = field(init=False, default=0.0)
    remb: int | None = field(init=False, default=None)
    loss: float | None = field(init=False, default=None)  # the last loss figure (0-1)
    congestion_events: int = field(init=False, default=0)
    ceiling: float | None = field(init=False, default=None)
    _ceiling_at: float = field(init=False, default=0.0)
    _reports: dict[int, _StreamReport] = field(init=False, factory=dict)
    _expected: int = field(init=False, default=0)
    _lost: int = field(init=False, default=0)
    _loss_at: float | None = field(init=False, default=None)
    _settle_until: float = field(init=False, default=float("-inf"))
    _interval_at: float = field(init=False, default=0.0)  # since the last loss figure: time, bytes sent
    _interval_bytes: int = field(init=False, default=0)
    _remb_pending: int | None = field(init=False, default=None)
    _remb_groups: dict[tuple[int, ...], int] = field(init=False, factory=dict)
    _bytes: int = field(init=False, default=0)
    _tick: float | None = field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self.estimate = float(self.start_bps)

    # -- feedback, as it arrives (cheap: the work is done in ``update``) ------------------------

    def on_remb(self, bitrate: int, ssrcs: tuple[int, ...] = (), now: float | None = None) -> None:
        """A REMB covering ``ssrcs``: browsers send one for all the streams they receive on the connection,
        aiortc one per received video stream; the estimate reads their sum (latest per SSRC set)."""
        self._remb_groups[ssrcs] = max(0, int(bitrate))
        self._remb_pending = self.remb = sum(self._remb_groups.values())

    def on_receiver_report(self, ssrc: int, highest_sequence: int, cumulative_lost: int) -> None:
        """One RTCP report block about one of the subscriber's streams. The same block handed in twice
        (aiortc gives a compound packet to every sender it names) counts once."""
        before = self._reports.get(ssrc)
        self._reports[ssrc] = _StreamReport(highest_sequence, cumulative_lost)
        if before is None:
            return
        expected = highest_sequence - before.highest
        if expected <= 0 or expected > 1 << 16:  # a repeat, a reordered report, or a reset stream
            return
        self._expected += expected
        self._lost += max(0, min(expected, cumulative_lost - before.lost))

    def forget_stream(self, ssrc: int) -> None:
        self._reports.pop(ssrc, None)
        for group in [g for g in self._remb_groups if ssrc in g]:
            del self._remb_groups[group]

    # -- the controller's tick -------------------------------------------------------------------

    def update(self, now: float, bytes_sent: int) -> int:
        """The estimate at ``now``; ``bytes_sent``: the subscriber's senders' payload bytes so far."""
        if self._tick is None:
            self._tick, self._bytes = now, bytes_sent
            self._interval_at, self._interval_bytes = now, bytes_sent
            return int(self.estimate)
        dt = now - self._tick
        if dt <= 0:
            return int(self.estimate)
        rate = max(0, bytes_sent - self._bytes) * 8 / dt
        weight = min(1.0, dt / RATE_WINDOW)
        self.send_rate += (rate - self.send_rate) * weight
        self._tick, self._bytes = now, bytes_sent
        congested = False
        remb, self._remb_pending = self._remb_pending, None
        if now < self._settle_until:  # feedback about what was sent before the last cut
            self._expected = self._lost = 0
            self._interval_at, self._interval_bytes = now, bytes_sent
            return int(self.estimate)
        if self._expected >= MIN_PACKETS:
            self.loss = self._lost / self._expected
            span = now - self._interval_at
            received = (max(0, bytes_sent - self._interval_bytes) * 8 / span * (1 - self.loss)
                        if span > 0 else 0.0)
            self._expected = self._lost = 0
            self._interval_at, self._interval_bytes = now, bytes_sent
            self._loss_at = now
            if self.loss > LOSS_HIGH:
                self._congested(now, max(received, min(self.estimate, self.send_rate) * (1 - self.loss / 2)))
                congested = True
        lossy = (self.loss is not None and self.loss >= LOSS_LOW and self._loss_at is not None
                 and now - self._loss_at <= FEEDBACK_FRESH)
        if not congested and remb is not None and remb < REMB_CONGESTED * self.send_rate and lossy:
            self._congested(now, remb)
            congested = True
        if not congested:
            self._grow(now, dt)
        return int(self.estimate)

    def _congested(self, now: float, bound: float) -> None:
        self.estimate = max(self.min_bps, min(self.estimate, bound))
        self.ceiling = max(self.estimate, self.send_rate)
        self._ceiling_at = now
        self._settle_until = now + CUT_SETTLE
        self.congestion_events += 1

    def _grow(self, now: float, dt: float) -> None:
        fresh = self._loss_at is not None and now - self._loss_at <= FEEDBACK_FRESH
        if not fresh or self.loss is None or self.loss >= LOSS_LOW:
            return
        if self.ceiling is not None and now - self._ceiling_at >= self.retry_after:
            self.ceiling = None
        top = self.max_bps if self.ceiling is None else max(self.estimate, 0.95 * self.ceiling)
        self.estimate = min(top, self.estimate * self.growth ** dt)
