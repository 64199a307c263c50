// The media connection with the SFU (docs/signaling.md 13), without the DOM: one RTCPeerConnection
// with our microphone, camera and a screen-share slot (13.8), one client offer sent at once with its
// ICE candidates trickled after it, answers to the SFU's offers, and starting over from a new
// connection (a reconnect, or media_reset) while keeping the local tracks, and restarting it in place
// after a network change (13.12: NetworkWatch decides when, restartIce does it).
//
// Dependencies come in so node can test it: createPc(config) -> RTCPeerConnection-like,
// send(type, data) -> Promise (the signaling request), onTrack({userId, label, track}), onState(state),
// onIceState(iceConnectionState).

// The screen share's layer policy: full resolution, a low frame rate (13.8).
export const SCREEN_ENCODING = { maxFramerate: 15, maxBitrate: 2_500_000, scaleResolutionDownBy: 1 };

// The camera's simulcast layers (docs/signaling.md 13.10, 13.11): the SFU forwards each member the
// smallest layer that fills its tile and fits its bandwidth. Two layers from 640 pixels wide, three
// from 1280; below 640 (or unknown) one stream, as before. Screen shares stay one layer (13.8).
export const CAMERA_LAYERS = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

export function cameraEncodings(width) {
  if (!(width >= 640)) return null;
  if (width >= 1280) return CAMERA_LAYERS.map((e) => ({ ...e }));
  // 640..1279 wide: q at half size, h at full size
  return [{ ...CAMERA_LAYERS[0], scaleResolutionDownBy: 2 }, { ...CAMERA_LAYERS[1], scaleResolutionDownBy: 1 }];
}

// Trickled candidates the SFU takes: not the end-of-candidates null or "", not mDNS names (13.6).
export function usableCandidate(candidate) {
  if (!candidate || !candidate.candidate) return false;
  const address = candidate.candidate.split(" ")[4] ?? "";
  return !address.toLowerCase().replace(/\.$/, "").endsWith(".local");
}

export function candidateJson(candidate) {
  const c = typeof candidate.toJSON === "function" ? candidate.toJSON() : candidate;
  return { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null,
    usernameFragment: c.usernameFragment ?? null };
}

// mid -> [stream id, track id] from each m-section's a=msid line.
export function msidByMid(sdp) {
  const out = new Map();
  let mid = null;
  let msid = null;
  const flush = () => { if (mid !== null && msid) out.set(mid, msid); };
  for (const line of (sdp || "").split(/\r?\n/)) {
    if (line.startsWith("m=")) {
      flush();
      mid = null;
      msid = null;
    } else if (line.startsWith("a=mid:")) {
      mid = line.slice(6).trim();
    } else if (line.startsWith("a=msid:")) {
      msid = line.slice(7).trim().split(/\s+/);
    }
  }
  flush();
  return out;
}

// "<user> <user>-screen" -> {userId, label: "screen"}; the label is what follows the user id.
export function trackOrigin(msid, fallbackStreamId, kind) {
  if (msid && msid.length === 2 && msid[1].startsWith(`${msid[0]}-`)) {
    return { userId: msid[0], label: msid[1].slice(msid[0].length + 1) };
  }
  return { userId: msid?.[0] ?? fallbackStreamId, label: kind };
}

// Network change (13.12): ICE "disconnected" for this long restarts the connection (a blip shorter
// than this recovers by itself); restarts closer together than MIN_RESTART_INTERVAL_MS are not repeated
// (a "failed" connection still is, through Reconnect.mediaState).
export const DISCONNECTED_RESTART_MS = 1000;
export const MIN_RESTART_INTERVAL_MS = 3000;

// When to restart the media connection after a network change, without the DOM or real timers:
// - the connection's ICE state stays "disconnected" for graceMs (the path stopped answering);
// - the browser comes back `online`;
// - navigator.connection's `type` changes (wifi <-> cellular; Chromium on Android reports it).
// restart(reason) is called once per change; a restart in flight (its connection not connected yet)
// or one less than minIntervalMs ago absorbs further triggers.
export class NetworkWatch {
  constructor({ restart, setTimer = setTimeout, clearTimer = clearTimeout, now = () => Date.now(),
    graceMs = DISCONNECTED_RESTART_MS, minIntervalMs = MIN_RESTART_INTERVAL_MS, type = null }) {
    Object.assign(this, { restart, setTimer, clearTimer, now, graceMs, minIntervalMs, type });
    this.timer = null;
    this.pending = false;
    this.lastRestart = -Infinity;
    this.restarts = 0;
  }

  // The current connection's iceConnectionState.
  iceState(state) {
    if (state === "disconnected") {
      if (this.timer === null) {
        this.timer = this.setTimer(() => { this.timer = null; this.trigger("disconnected"); }, this.graceMs);
      }
      return;
    }
    this.cancel();
    if (state === "connected" || state === "completed") this.pending = false;
  }

  online() { this.trigger("online"); }

  connectionChanged(type) {
    const before = this.type;
    this.type = type ?? null;
    if (before && type && type !== before) this.trigger("network");
  }

  trigger(reason) {
    const now = this.now();
    if (this.pending || now - this.lastRestart < this.minIntervalMs) return false;
    this.cancel();
    this.pending = true;
    this.lastRestart = now;
    this.restarts += 1;
    this.restart(reason);
    return true;
  }

  cancel() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }
}

export class SfuSession {
  constructor({ createPc, send, onTrack = () => {}, onState = () => {}, onIceState = () => {}, onError = () => {},
    onMark = () => {}, sfuId, roomId }) {
    Object.assign(this, { createPc, send, onTrack, onState, onIceState, onError, onMark, sfuId, roomId });
    this.pc = null;
    this.local = null;        // MediaStream-like with getAudioTracks / getVideoTracks
    this.screen = null;       // the screen track while sharing
    this.iceServers = [];
    this.generation = 0;      // bumps on each new connection: late callbacks of an old one are dropped
    this.queue = Promise.resolve();
    this.offerSent = false;
    this.pendingCandidates = [];
    this.transceivers = {};
    this.offers = 0;
    this.restarts = 0;
    this.sfuOffers = 0;       // SFU offers answered (renegotiations)
    this.candidatesSent = 0;
  }

  // Serialises SDP work so an SFU offer never interleaves with ours.
  enqueue(step) {
    this.queue = this.queue.then(step).catch((err) => this.onError(err));
    return this.queue;
  }

  // A new connection with the local tracks (and the screen, if sharing): one offer, sent at once.
  // restart (13.12): the offer says so and the old connection stays open until the SFU acked it (the
  // SFU then has swapped it for the new one: closing it before could look like leaving).
  start(local, iceServers = this.iceServers, { restart = false } = {}) {
    const previous = restart ? this.detach() : null;
    if (!restart) this.close();
    this.local = local;
    this.iceServers = iceServers;
    const generation = ++this.generation;
    const pc = this.createPc({ bundlePolicy: "max-bundle", iceServers });
    this.pc = pc;
    this.offerSent = false;
    this.pendingCandidates = [];
    const audio = local?.getAudioTracks()[0] ?? null;
    const camera = local?.getVideoTracks()[0] ?? null;
    const streams = local ? [local] : [];
    const encodings = camera ? cameraEncodings(camera.getSettings?.().width) : null;
    this.transceivers = {
      audio: pc.addTransceiver(audio ?? "audio", { direction: audio ? "sendrecv" : "recvonly", streams }),
      video: pc.addTransceiver(camera ?? "video", {
        direction: camera ? "sendrecv" : "recvonly", streams, ...(encodings ? { sendEncodings: encodings } : {}),
      }),
      // Always offered (13.8): sharing later is a replaceTrack, never a renegotiation.
      screen: pc.addTransceiver(this.screen ?? "video", { direction: "sendrecv", sendEncodings: [SCREEN_ENCODING] }),
    };
    pc.onicecandidate = (ev) => {
      if (generation !== this.generation || !usableCandidate(ev.candidate)) return;
      const json = candidateJson(ev.candidate);
      if (this.offerSent) this.sendCandidate(json);
      else this.pendingCandidates.push(json);
    };
    pc.ontrack = (ev) => {
      if (generation !== this.generation) return;
      const sdp = pc.remoteDescription?.sdp ?? "";
      const msid = msidByMid(sdp).get(ev.transceiver?.mid ?? "");
      const origin = trackOrigin(msid, ev.streams?.[0]?.id, ev.track.kind);
      this.onMark(`track_${ev.track.kind}`);
      this.onTrack({ ...origin, track: ev.track });
    };
    pc.onconnectionstatechange = () => {
      if (generation !== this.generation) return;
      this.onMark(`pc_${pc.connectionState}`);
      this.onState(pc.connectionState);
    };
    pc.oniceconnectionstatechange = () => {
      if (generation !== this.generation) return;
      this.onIceState(pc.iceConnectionState);
    };
    return this.enqueue(async () => {
      await pc.setLocalDescription(await pc.createOffer());
      if (generation !== this.generation) return;
      if (this.screen) await this.screenPolicy(this.transceivers.screen.sender);  // sharing across a restart
      this.gatheringAtOffer = pc.iceGatheringState;  // "gathering": the offer did not wait (trickle)
      this.onMark(previous ? "restart_offer_sent" : "offer_sent");
      const offer = { room_id: this.roomId, to: this.sfuId, sdp: pc.localDescription.sdp };
      if (previous) offer.restart = true;
      const sent = this.send("offer", offer);
      this.offers += 1;
      if (previous) this.restarts += 1;
      // The offer frame is on the socket: candidates may follow it (the server handles frames in order).
      this.offerSent = true;
      for (const c of this.pendingCandidates.splice(0)) this.sendCandidate(c);
      await sent;
    }).finally(() => previous?.close());  // after the SFU's ack (or a refusal), or when superseded
  }

  sendCandidate(candidate) {
    this.candidatesSent += 1;
    this.send("ice_candidate", { room_id: this.roomId, to: this.sfuId, candidate }).catch(() => {
      // A refused candidate (e.g. one the SFU cannot use) is not fatal: others may work.
    });
  }

  onOffer(sdp) {
    const { pc, generation } = this;
    return this.enqueue(async () => {
      if (!pc || generation !== this.generation) return;
      this.sfuOffers += 1;
      this.onMark("sfu_offer");
      await pc.setRemoteDescription({ type: "offer", sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      if (generation !== this.generation) return;
      try {
        await this.send("answer", { room_id: this.roomId, to: this.sfuId, sdp: pc.localDescription.sdp });
      } catch (err) {
        // The SFU repeats an offer it got no answer to in time; answering both copies is harmless.
        if (err.code !== "invalid_signal") throw err;
      }
    });
  }

  onAnswer(sdp) {
    const { pc } = this;
    return this.enqueue(async () => {
      if (pc && pc === this.pc && pc.signalingState === "have-local-offer") {
        this.onMark("answer");
        await pc.setRemoteDescription({ type: "answer", sdp });
      }
    });
  }

  onCandidate(candidate) {
    const { pc } = this;
    if (!candidate?.candidate) return this.queue;
    return this.enqueue(async () => {
      if (pc && pc === this.pc) await pc.addIceCandidate(candidate);
    });
  }

  // Start or stop sharing: the screen slot's track, no renegotiation.
  async setScreen(track) {
    this.screen = track;
    const sender = this.transceivers.screen?.sender;
    if (!sender) return;
    await sender.replaceTrack(track);
    if (track) await this.screenPolicy(sender);
  }

  // The screen's layer policy on its sender: full resolution, low frame rate, keep the resolution.
  async screenPolicy(sender) {
    if (!sender.getParameters || !sender.setParameters) return;
    const params = sender.getParameters();
    params.encodings = (params.encodings?.length ? params.encodings : [{}]).map((e) => ({ ...e, ...SCREEN_ENCODING }));
    params.degradationPreference = "maintain-resolution";
    await sender.setParameters(params).catch(() => {});
  }

  // A device change mid-call: the new microphone or camera replaces the old one on its sender.
  async replaceTrack(kind, track) {
    const sender = this.transceivers[kind === "audio" ? "audio" : "video"]?.sender;
    if (sender) await sender.replaceTrack(track);
  }

  // media_reset (or a socket reconnect): a fresh connection and offer, the same local tracks.
  restart(iceServers = this.iceServers) {
    return this.start(this.local, iceServers);
  }

  // A network change (13.12): a new connection whose offer restarts the current one in place on the SFU
  // (our tracks, subscriptions and preferences stay; nobody else renegotiates). Our tracks from the
  // others come back in the SFU's next offer, on the new connection. Without a connection: a plain start.
  restartIce(iceServers = this.iceServers) {
    return this.start(this.local, iceServers, { restart: Boolean(this.pc) });
  }

  // The current connection, its callbacks silenced (late events of it are dropped), still open.
  detach() {
    const { pc } = this;
    if (pc) pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
    this.pc = null;
    return pc;
  }

  close() {
    this.detach()?.close();
  }
}
