// The reconnect state machine (no DOM, no timers): what to do when the signaling socket closes or the
// media server asks for a new connection, and what the banner says meanwhile.
//
//   connected --socket closed--> reconnecting --attempt ok--> connected
//                                reconnecting --attempt failed--> reconnecting (backoff) | failed
//   connected --final close (kicked, replaced)--> stopped
//   connected --media_reset--> media (a new peer connection) --media connected--> connected
//   connected --network change / media failed--> media (ICE restart, docs 13.12) --media connected--> connected

export const CONNECTED = "connected";
export const RECONNECTING = "reconnecting";
export const MEDIA = "media";
export const FAILED = "failed";
export const STOPPED = "stopped";

// Close codes after which reconnecting would be refused or steal the session back (docs 6).
export const FINAL_CLOSES = { 4001: "kicked", 4002: "replaced" };
export const MAX_ATTEMPTS = 8;
// New media connections after failures in a row (each costs sections of the member's budget, docs 13.6).
export const MAX_MEDIA_RETRIES = 2;

// docs 9.3: the first try at once (to stay inside the grace period), then 0.5 s doubling to 10 s, with jitter.
export function backoffDelay(attempt, random = Math.random) {
  if (attempt === 0) return 0;
  const base = Math.min(10000, 500 * 2 ** (attempt - 1));
  return Math.round(base * (0.5 + random() / 2));
}

export class Reconnect {
  constructor({ maxAttempts = MAX_ATTEMPTS, random = Math.random } = {}) {
    this.state = CONNECTED;
    this.attempt = 0;
    this.maxAttempts = maxAttempts;
    this.random = random;
    this.closeCode = null;
    this.reason = null;
    this.mediaRetries = 0;
  }

  // The socket closed: {action: "stop", reason} or {action: "retry", delay, refresh}.
  socketClosed(code) {
    this.closeCode = code;
    if (FINAL_CLOSES[code]) {
      this.state = STOPPED;
      this.reason = FINAL_CLOSES[code];
      return { action: "stop", reason: this.reason };
    }
    this.state = RECONNECTING;
    this.attempt = 0;
    return { action: "retry", delay: backoffDelay(0, this.random), refresh: code === 4401 };
  }

  // An attempt failed: retry later or give up.
  attemptFailed() {
    this.attempt += 1;
    if (this.attempt >= this.maxAttempts) {
      this.state = FAILED;
      return { action: "give_up" };
    }
    return { action: "retry", delay: backoffDelay(this.attempt, this.random), refresh: this.closeCode === 4401 };
  }

  resumed() {
    this.state = CONNECTED;
    this.attempt = 0;
    this.closeCode = null;
  }

  // media_reset {reason}: the membership stays, the media connection starts over.
  mediaReset(reason) {
    if (this.state === CONNECTED || this.state === MEDIA) {
      this.state = MEDIA;
      this.reason = reason;
      return { action: "new_connection" };
    }
    return { action: "ignore" };  // a socket reconnect makes a new connection anyway
  }

  // The network changed under the media connection (NetworkWatch, sfu.js): restart it in place (13.12),
  // the membership and the tiles kept. While the socket reconnects, its new connection does it anyway.
  networkChange(reason) {
    if (this.state !== CONNECTED && this.state !== MEDIA) return { action: "ignore" };
    this.state = MEDIA;
    this.reason = reason;
    return { action: "restart" };
  }

  // The peer connection's state (RTCPeerConnection.connectionState): "failed" (ICE or DTLS gave up)
  // restarts the connection in place (13.12) while the socket is up, a couple of times in a row at most.
  mediaState(pcState) {
    if (pcState === "connected") {
      this.mediaRetries = 0;
      if (this.state === MEDIA) this.state = CONNECTED;
      return { action: "none" };
    }
    if (pcState !== "failed" || (this.state !== CONNECTED && this.state !== MEDIA)) return { action: "none" };
    if (this.mediaRetries >= MAX_MEDIA_RETRIES) {
      this.state = CONNECTED;
      return { action: "give_up" };
    }
    this.mediaRetries += 1;
    this.state = MEDIA;
    this.reason = "failed";
    return { action: "new_connection" };
  }

  get banner() {
    switch (this.state) {
      case RECONNECTING: return this.attempt === 0 ? "Reconnecting…" : `Reconnecting… (attempt ${this.attempt + 1})`;
      case MEDIA: return this.reason === "node_drained"
        ? "Moving you to another media server…" : "Reconnecting audio and video…";
      default: return null;
    }
  }
}
