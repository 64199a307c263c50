import assert from "node:assert/strict";
import test from "node:test";

import { describeQuality, grade, summarize } from "../../runners/web/static/netquality.js";

function report({ received = 0, lost = 0, jitter = 0.005, rtt = 0.02 } = {}) {
  return [
    { type: "inbound-rtp", kind: "video", packetsReceived: received, packetsLost: lost, jitter: 0.2 },
    { type: "inbound-rtp", kind: "audio", packetsReceived: 0, packetsLost: 0, jitter },
    { type: "transport", selectedCandidatePairId: "p1" },
    { type: "candidate-pair", id: "p0", nominated: false, state: "failed", currentRoundTripTime: 9 },
    { type: "candidate-pair", id: "p1", nominated: true, state: "succeeded", currentRoundTripTime: rtt },
  ];
}

test("the selected pair gives the round trip; inbound RTP the packets, and audio the jitter (video is bursty)", () => {
  assert.deepEqual(summarize(report({ received: 100, lost: 3, rtt: 0.04 })),
    { received: 100, lost: 3, jitter: 0.005, rtt: 0.04 });
  assert.deepEqual(summarize([]), { received: 0, lost: 0, jitter: null, rtt: null });
});

test("loss is graded over the interval, not over the whole call", () => {
  const before = summarize(report({ received: 1000, lost: 200 }));  // a bad start long ago
  const now = summarize(report({ received: 1500, lost: 201 }));
  assert.deepEqual(grade(before, now), { level: "good", lossPct: 0.2, rttMs: 20, jitterMs: 5 });
  assert.equal(grade(null, now).level, "poor");  // 201 of 1701 since the start
});

test("thresholds: 2 % loss, 250 ms or 50 ms jitter is fair; 8 % or 500 ms is poor", () => {
  const at = (o) => grade(null, summarize(report({ received: 100, ...o }))).level;
  assert.equal(at({ lost: 1 }), "good");
  assert.equal(at({ lost: 3 }), "fair");
  assert.equal(at({ rtt: 0.3 }), "fair");
  assert.equal(at({ jitter: 0.06 }), "fair");
  assert.equal(at({ lost: 10 }), "poor");
  assert.equal(at({ rtt: 0.6 }), "poor");
});

test("nothing received and no round trip is unknown", () => {
  assert.equal(grade(null, summarize([])).level, "unknown");
});

test("the description names the grade and its numbers", () => {
  assert.equal(describeQuality({ level: "fair", lossPct: 3.5, rttMs: 120 }), "Network: Fair (120 ms round trip, 3.5% loss)");
  assert.equal(describeQuality({ level: "unknown", lossPct: null, rttMs: null }), "Network: Unknown");
});
