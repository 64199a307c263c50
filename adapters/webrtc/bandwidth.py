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
  more than 10% lost cuts the estimate to what the receiver got (below); less than 2% lets it grow
  (``growth`` per second); in between it holds. A token-bucket-limited link (tc tbf: it drops) is
  caught this way even when REMB reacts slowly (Chromium sends none to the SFU at all: it would need
  transport-wide feedback). A loss figure needs ``MIN_PACKETS`` expected, so under loss, when
  Chromium sends a report with each NACK (every 50-100 ms), it comes within a tick or two.
- What the receiver got: each report says how many packets of a stream arrived since the last one
  (expected minus lost); times that stream's recent payload bytes per packet (the caller hands in its
  sender's cumulative payload bytes and packets) and over the time the reports span, the last
  ``RECEIVED_WINDOW`` seconds of it, it is the rate the link delivered -- on a link that drops what
  exceeds it, its capacity, measured directly. Without that (no sizes handed in) a cut falls back to
  the send rate times (1 - loss/2), and never below what was sent meanwhile times 1 - loss.

A cut (loss or REMB) is followed by ``CUT_SETTLE`` seconds in which feedback cuts nothing and the
loss counted meanwhile is dropped: reports and REMBs then still describe what was sent before the cut
(the higher layer, the queue of a token bucket) -- one cut per feedback interval, not one per
controller tick.

After a congestion signal the estimate grows no higher than just below ``ceiling`` until
``retry_after`` seconds pass without one: a weak link is probed again from time to time, not every
few seconds. The ceiling is ``CARRIED_HEADROOM`` times what the receiver got (else the send rate
that failed): room to take back what a cut at a busy moment took too much (a video paused at the
edge of its lowest layer), none to try the next layer up. Everything here is arithmetic on numbers handed in with
their time: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections import deque

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
RECEIVED_WINDOW = 0.6  # seconds of receiver reports over which what arrived is measured (at least one)
CARRIED_HEADROOM = 1.3  # the ceiling after a cut to what the receiver got: that times this


@define
class _StreamReport:
    highest: int
    lost: int
    at: float | None = None
    sent: tuple[int, int] | None = None  # the sender's cumulative (payload bytes, packets) then
    # (from, to, bits arrived, some lost): what each recent report said arrived, for the received rate
    arrived: deque[tuple[float, float, float, bool]] = field(factory=lambda: deque(maxlen=32))


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
    congested_at: float = field(init=False, default=float("-inf"))  # the time of the last cut
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

    def on_receiver_report(self, ssrc: int, highest_sequence: int, cumulative_lost: int, now: float | None = None,
                           sent: tuple[int, int] | None = None) -> None:
        """One RTCP report block about one of the subscriber's streams. The same block handed in twice
        (aiortc gives a compound packet to every sender it names) counts once. ``sent``: the stream's
        sender's cumulative (payload bytes, packets) at ``now``, for what arrived (see the module)."""
        before = self._reports.get(ssrc)
        expected = 0 if before is None else highest_sequence - before.highest
        if before is not None and expected == 0:  # a repeat, or a stream that stopped (paused): nothing arrived
            if now is not None and before.at is not None and now > before.at:
                before.arrived.append((before.at, now, 0.0, False))
                before.at, before.sent = now, sent or before.sent
            return
        report = _StreamReport(highest_sequence, cumulative_lost, now, sent)
        self._reports[ssrc] = report
        if before is None or expected < 0 or expected > 1 << 16:  # a reordered report, or a reset stream
            return
        report.arrived = before.arrived
        lost = max(0, min(expected, cumulative_lost - before.lost))
        self._expected += expected
        self._lost += lost
        if now is None or before.at is None or sent is None or before.sent is None or now <= before.at:
            return
        packets = sent[1] - before.sent[1]
        if packets > 0:
            size = (sent[0] - before.sent[0]) / packets
        elif sent[1] > 0:
            size = sent[0] / sent[1]
        else:
            return
        report.arrived.append((before.at, now, (expected - lost) * size * 8, lost > 0))

    def received_bps(self, now: float) -> float | None:
        """What the receiver got lately (bit/s of payload), from the reports of the last ``RECEIVED_WINDOW``
        seconds (at least each stream's latest), or None when no report with sizes is that recent. Of a
        stream with some loss in that window only the intervals with loss count: the link was full
        then (before, a token bucket's burst and queue were still delivering more than its rate)."""
        total, known = 0.0, False
        for report in self._reports.values():
            recent = [a for a in report.arrived if a[1] >= now - FEEDBACK_FRESH]
            if not recent:
                continue
            window = [a for a in recent if a[1] >= now - RECEIVED_WINDOW] or recent[-1:]
            window = [a for a in window if a[3]] or window
            span = sum(a[1] - a[0] for a in window)
            if span > 0:
                total += sum(a[2] for a in window) / span
                known = True
        return total if known else None

    def cut_due(self, now: float) -> bool:
        """Whether the reports in since the last ``update`` already make a loss cut: the caller need not
        wait for its next tick (under loss Chromium reports every 50-100 ms)."""
        return now >= self._settle_until and self._expected >= MIN_PACKETS and self._lost > LOSS_HIGH * self._expected

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
                got = self.received_bps(now)
                self._congested(now, got if got is not None else
                                max(received, min(self.estimate, self.send_rate) * (1 - self.loss / 2)), got)
                congested = True
        lossy = (self.loss is not None and self.loss >= LOSS_LOW and self._loss_at is not None
                 and now - self._loss_at <= FEEDBACK_FRESH)
        if not congested and remb is not None and remb < REMB_CONGESTED * self.send_rate and lossy:
            self._congested(now, remb)
            congested = True
        if not congested:
            self._grow(now, dt)
        return int(self.estimate)

    def _congested(self, now: float, bound: float, carried: float | None = None) -> None:
        self.estimate = max(self.min_bps, min(self.estimate, bound))
        self.ceiling = max(self.estimate, self.send_rate if carried is None else carried * CARRIED_HEADROOM)
        self._ceiling_at = self.congested_at = now
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
