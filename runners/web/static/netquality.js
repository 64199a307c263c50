// Network quality from RTCPeerConnection.getStats() numbers (no DOM): packet loss over the last
// interval, round-trip time and jitter, graded good / fair / poor.

export const GOOD = "good";
export const FAIR = "fair";
export const POOR = "poor";
export const UNKNOWN = "unknown";

// The numbers we grade on, from the stats entries (an RTCStatsReport's values()).
export function summarize(entries) {
  const out = { received: 0, lost: 0, jitter: null, rtt: null };
  const pairs = [];
  const transports = [];
  for (const s of entries) {
    if (s.type === "inbound-rtp") {
      out.received += s.packetsReceived || 0;
      out.lost += Math.max(0, s.packetsLost || 0);
      // Audio's jitter: video arrives in bursts of a frame's packets, which is no sign of trouble.
      if (s.kind === "audio" && typeof s.jitter === "number") out.jitter = Math.max(out.jitter ?? 0, s.jitter);
    } else if (s.type === "candidate-pair") {
      pairs.push(s);
    } else if (s.type === "transport") {
      transports.push(s);
    } else if (s.type === "remote-inbound-rtp" && typeof s.roundTripTime === "number") {
      out.rtt = Math.max(out.rtt ?? 0, s.roundTripTime);
    }
  }
  const selected = new Set(transports.map((t) => t.selectedCandidatePairId).filter(Boolean));
  const pair = pairs.find((p) => selected.has(p.id)) ?? pairs.find((p) => p.nominated && p.state === "succeeded");
  if (pair && typeof pair.currentRoundTripTime === "number") out.rtt = pair.currentRoundTripTime;
  return out;
}

// Grades the interval between two summaries (prev may be null: the totals so far count).
export function grade(prev, cur) {
  const received = cur.received - (prev?.received ?? 0);
  const lost = cur.lost - (prev?.lost ?? 0);
  const total = received + Math.max(0, lost);
  const lossPct = total > 0 ? (100 * Math.max(0, lost)) / total : null;
  const rttMs = cur.rtt === null ? null : Math.round(cur.rtt * 1000);
  const jitterMs = cur.jitter === null ? null : Math.round(cur.jitter * 1000);
  let level = UNKNOWN;
  if (lossPct !== null || rttMs !== null) {
    if ((lossPct ?? 0) >= 8 || (rttMs ?? 0) >= 500) level = POOR;
    else if ((lossPct ?? 0) >= 2 || (rttMs ?? 0) >= 250 || (jitterMs ?? 0) >= 50) level = FAIR;
    else level = GOOD;
  }
  return { level, lossPct: lossPct === null ? null : Math.round(lossPct * 10) / 10, rttMs, jitterMs };
}

export function describeQuality({ level, lossPct, rttMs }) {
  const name = { good: "Good", fair: "Fair", poor: "Poor", unknown: "Unknown" }[level];
  const parts = [];
  if (rttMs !== null) parts.push(`${rttMs} ms round trip`);
  if (lossPct !== null) parts.push(`${lossPct}% loss`);
  return parts.length ? `Network: ${name} (${parts.join(", ")})` : `Network: ${name}`;
}
