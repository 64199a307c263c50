"""A subscriber's bandwidth estimate from REMB and receiver-report loss (adapters/webrtc/bandwidth.py),
driven with made-up feedback and a made-up clock; and the packetizer hook REMB arrives through."""

from __future__ import annotations

from types import SimpleNamespace

from adapters.webrtc.bandwidth import BandwidthEstimator
from adapters.webrtc.forwarding import ForwardingPacketizer

TICK = 0.25


class Link:
    """A subscriber sending at ``rate`` bit/s through a link that carries ``capacity`` (drops the rest),
    with one receiver report a second about one stream of 1200-byte packets."""

    def __init__(self, est: BandwidthEstimator, capacity: float) -> None:
        self.est, self.capacity = est, capacity
        self.now, self.bytes, self.seq, self.lost, self.next_rr = 0.0, 0, 0, 0.0, 1.0

    def run(self, seconds: float, rate: float) -> list[int]:
        out = []
        for _ in range(round(seconds / TICK)):
            self.now += TICK
            sent = rate * TICK / 8
            self.bytes += int(sent)
            packets = sent / 1200
            self.seq += packets
            self.lost += packets * max(0.0, 1 - self.capacity / rate) if rate else 0
            if self.now >= self.next_rr:
                self.est.on_receiver_report(1111, int(self.seq), int(self.lost))
                self.est.on_receiver_report(1111, int(self.seq), int(self.lost))  # same block, 2nd sender
                self.next_rr += 1.0
            out.append(self.est.update(self.now, self.bytes))
        return out


def test_no_loss_grows_the_estimate_from_its_start() -> None:
    est = BandwidthEstimator(start_bps=500_000, growth=1.25)
    link = Link(est, capacity=10_000_000)
    estimates = link.run(10, rate=400_000)
    assert estimates[0] == 500_000
    assert estimates == sorted(estimates)
    assert 500_000 * 1.25 ** 7 < estimates[-1] < 500_000 * 1.25 ** 10.5


def test_heavy_loss_cuts_to_below_the_send_rate_and_sets_a_ceiling() -> None:
    est = BandwidthEstimator(start_bps=3_000_000)
    link = Link(est, capacity=500_000)
    link.run(1.0, rate=2_000_000)
    estimates = link.run(2.0, rate=2_000_000)
    assert min(estimates) < 2_000_000 * 0.7 and est.loss is not None and est.loss > 0.5
    assert est.congestion_events >= 1 and est.ceiling is not None


def test_moderate_loss_holds_and_low_loss_grows() -> None:
    est = BandwidthEstimator(start_bps=1_000_000)
    link = Link(est, capacity=1_000_000 * 0.95)  # 5% lost
    held = link.run(5, rate=1_000_000)
    assert held[-1] == 1_000_000 and est.congestion_events == 0
    link.capacity = 10**9
    assert link.run(3, rate=1_000_000)[-1] > 1_000_000


def test_after_congestion_it_stays_below_the_ceiling_until_the_retry_time() -> None:
    est = BandwidthEstimator(start_bps=3_000_000, retry_after=10.0)
    link = Link(est, capacity=600_000)
    link.run(3, rate=2_000_000)  # too much: loss
    ceiling = est.ceiling
    assert ceiling is not None
    link.capacity = 10**9  # the limit is lifted; we send what the estimate allows
    quiet = link.run(8, rate=300_000)
    assert max(quiet) <= max(0.95 * ceiling, quiet[0]) + 1
    later = link.run(10, rate=300_000)
    assert later[-1] > ceiling  # probed again


def test_remb_counts_only_below_the_send_rate_and_with_some_loss() -> None:
    est = BandwidthEstimator(start_bps=2_000_000)
    link = Link(est, capacity=10**9)
    link.run(2, rate=1_500_000)
    est.on_remb(2_200_000)  # a receiver in "increase" reports ~1.5x what it gets: not a limit
    assert link.run(0.25, rate=1_500_000)[-1] >= 2_000_000
    est.on_remb(800_000)  # below what is sent, but nothing lost: not trusted (aiortc, a busy SFU)
    assert link.run(0.25, rate=1_500_000)[-1] >= 2_000_000
    link.capacity = 1_500_000 * 0.95  # 5% lost: not enough for the loss rule, enough to confirm REMB
    link.run(2, rate=1_500_000)
    est.on_remb(800_000)  # over-use: 0.85x of what arrives
    assert link.run(0.25, rate=1_500_000)[-1] == 800_000
    assert est.remb == 800_000 and est.congestion_events == 1


def test_rembs_per_stream_add_up_and_a_repeat_replaces() -> None:
    est = BandwidthEstimator()
    est.on_remb(300_000, (1,))
    est.on_remb(500_000, (2,))
    est.on_remb(400_000, (1,))
    assert est.remb == 900_000
    est.forget_stream(2)
    est.on_remb(400_000, (1,))
    assert est.remb == 400_000


def test_a_repeated_or_reordered_report_counts_nothing() -> None:
    est = BandwidthEstimator()
    est.on_receiver_report(5, 1000, 10)
    est.on_receiver_report(5, 1000, 10)  # the same block again
    est.on_receiver_report(5, 500, 50)  # older: ignored, and counting goes on from it
    assert (est._expected, est._lost) == (0, 0)
    est.on_receiver_report(5, 600, 52)
    assert (est._expected, est._lost) == (100, 2)
    est.forget_stream(5)
    est.on_receiver_report(5, 9000, 90)  # a new stream on that SSRC: its first block is a base
    assert (est._expected, est._lost) == (100, 2)


def test_never_below_the_floor() -> None:
    est = BandwidthEstimator(start_bps=100_000, min_bps=50_000)
    link = Link(est, capacity=1_000)
    assert min(link.run(5, rate=60_000)) >= 50_000


def test_the_packetizer_takes_remb_and_counts_bytes() -> None:
    packetizer = ForwardingPacketizer(SimpleNamespace(rtp_for=lambda p: ([b"abc", b"de"], 90)))  # type: ignore[arg-type]
    assert hasattr(packetizer, "target_bitrate")  # what aiortc checks before setting a REMB on it
    packetizer.pack(SimpleNamespace(pts=90))  # type: ignore[arg-type]
    packetizer.pack(SimpleNamespace(pts=93))  # type: ignore[arg-type]
    assert packetizer.bytes_out == 10


def test_one_cut_per_feedback_interval_and_never_below_what_the_receiver_got() -> None:
    """A 300 kbit/s link, the SFU at 1.5 Mbit/s, reports every 0.25 s still saying 80% lost for a second
    after the cut (they describe the higher layer): one cut, to no less than what got through."""
    est = BandwidthEstimator(start_bps=2_000_000)
    link = Link(est, capacity=300_000)
    link.run(1.0, rate=1_500_000)
    est.on_receiver_report(1111, int(link.seq), int(link.lost))
    estimates = []
    for _ in range(4):  # the SFU has switched down to 150 kbit/s; the reports lag behind
        link.now += TICK
        link.bytes += int(150_000 * TICK / 8)
        link.seq += 40
        link.lost += 32
        est.on_receiver_report(1111, int(link.seq), int(link.lost))
        estimates.append(est.update(link.now, link.bytes))
    assert est.congestion_events == 1
    assert estimates[-1] >= 0.8 * 300_000 * 0.5  # not collapsed towards the 50 kbit/s floor


def test_a_cut_is_never_below_the_received_rate() -> None:
    est = BandwidthEstimator(start_bps=2_000_000)
    link = Link(est, capacity=300_000)
    for _ in range(10):
        link.run(1.0, rate=1_500_000)
    # each cut: send rate x (1 - loss/2) or what arrived, whichever is more; ~300 kbit/s arrives
    assert est.estimate >= 250_000 and est.congestion_events >= 1


def test_a_cut_goes_to_what_the_receiver_got_when_the_reports_come_with_sizes() -> None:
    """Chromium reports with each NACK (every ~0.1 s under loss); the sender's bytes per packet turn the
    packets that arrived into a rate: the first cut lands on the link's 300 kbit/s, not on a share of the
    2 Mbit/s sent, and the ceiling is that rate, not the one that failed."""
    est = BandwidthEstimator(start_bps=3_000_000)
    now, sent_bytes, sent_packets, seq, lost = 0.0, 0, 0, 0.0, 0.0
    est.update(now, 0)
    while est.congestion_events == 0 and now < 3.0:
        now += 0.1
        packets = 2_000_000 * 0.1 / 8 / 1000  # 1000-byte packets at 2 Mbit/s
        sent_bytes, sent_packets = sent_bytes + int(packets * 1000), sent_packets + int(packets)
        seq, lost = seq + packets, lost + packets * (1 - 300_000 / 2_000_000)
        est.on_receiver_report(7, int(seq), int(lost), now, (sent_bytes, sent_packets))
        if round(now * 10) % 2 == 0:  # the controller's tick
            est.update(now, sent_bytes)
    assert est.congestion_events == 1 and now <= 0.6  # the first figure with enough packets
    assert 240_000 <= est.estimate <= 360_000
    assert est.ceiling is not None and est.ceiling <= 1.3 * 360_000  # room to take back a cut too deep, not to go up
    assert est.received_bps(now) is not None and est.received_bps(now + 10) is None  # stale reports say nothing


def test_a_stream_that_stops_counts_as_receiving_nothing() -> None:
    est = BandwidthEstimator()
    est.on_receiver_report(7, 100, 0, 0.0, (0, 0))
    est.on_receiver_report(7, 200, 0, 1.0, (100_000, 100))  # 100 packets of 1000 bytes in a second
    assert est.received_bps(1.0) == 800_000
    est.on_receiver_report(7, 200, 0, 2.0, (100_000, 100))  # paused: the same highest sequence again
    assert est.received_bps(2.0) == 0


def test_a_cut_is_due_as_soon_as_the_reports_make_one() -> None:
    est = BandwidthEstimator()
    est.update(0.0, 0)
    est.on_receiver_report(7, 100, 0)
    est.on_receiver_report(7, 110, 5)
    assert not est.cut_due(0.1)  # 10 packets: too few to say
    est.on_receiver_report(7, 130, 12)
    assert est.cut_due(0.1)
    est.update(0.1, 10_000)
    assert est.congestion_events == 1 and not est.cut_due(0.2)  # counted; and the next second settles
    est.on_receiver_report(7, 200, 60)
    assert not est.cut_due(0.5) and est.cut_due(1.2)


def test_what_arrived_before_the_loss_began_does_not_count() -> None:
    """A token bucket's burst and queue deliver more than its rate for a while before it drops: the
    received rate is read from the reports that saw loss."""
    est = BandwidthEstimator()
    est.on_receiver_report(7, 0, 0, 0.0, (0, 0))
    est.on_receiver_report(7, 100, 0, 0.4, (100_000, 100))  # 2 Mbit/s through, nothing lost yet
    est.on_receiver_report(7, 120, 12, 0.5, (120_000, 120))  # then 8 of 20 packets in 0.1 s: 640 kbit/s
    est.on_receiver_report(7, 140, 24, 0.6, (140_000, 140))
    assert round(est.received_bps(0.6) or 0) == 640_000
