// The media connection with the SFU (docs/signaling.md 13), without the DOM: one RTCPeerConnection
// with our microphone, camera and a screen-share slot (13.8), one client offer sent at once with its
// ICE candidates trickled after it, answers to the SFU's offers, and starting over from a new
// connection (a reconnect, or media_reset) while keeping the local tracks.
//
// Dependencies come in so node can test it: createPc(config) -> RTCPeerConnection-like,
// send(type, data) -> Promise (the signaling request), onTrack({userId, label, track}), onState(state).

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

export class SfuSession {
  constructor({ createPc, send, onTrack = () => {}, onState = () => {}, onError = () => {}, onMark = () => {},
    sfuId, roomId }) {
    Object.assign(this, { createPc, send, onTrack, onState, onError, onMark, sfuId, roomId });
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
    this.candidatesSent = 0;
  }

  // Serialises SDP work so an SFU offer never interleaves with ours.
  enqueue(step) {
    this.queue = this.queue.then(step).catch((err) => this.onError(err));
    return this.queue;
  }

  // A new connection with the local tracks (and the screen, if sharing): one offer, sent at once.
  start(local, iceServers = this.iceServers) {
    this.close();
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
    return this.enqueue(async () => {
      await pc.setLocalDescription(await pc.createOffer());
      if (generation !== this.generation) return;
      if (this.screen) await this.screenPolicy(this.transceivers.screen.sender);  // sharing across a restart
      this.gatheringAtOffer = pc.iceGatheringState;  // "gathering": the offer did not wait (trickle)
      this.onMark("offer_sent");
      const sent = this.send("offer", { room_id: this.roomId, to: this.sfuId, sdp: pc.localDescription.sdp });
      this.offers += 1;
      // The offer frame is on the socket: candidates may follow it (the server handles frames in order).
      this.offerSent = true;
      for (const c of this.pendingCandidates.splice(0)) this.sendCandidate(c);
      await sent;
    });
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

  close() {
    if (this.pc) {
      this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.pc = null;
  }
}
