import assert from "node:assert/strict";
import test from "node:test";

import {
  cameraEncodings, msidByMid, SCREEN_ENCODING, SfuSession, trackOrigin, usableCandidate,
} from "../../runners/web/static/sfu.js";

// A fake RTCPeerConnection: records what the session does to it; the test fires its events.
class FakePc {
  constructor(config) {
    this.config = config;
    this.transceivers = [];
    this.closed = false;
    this.signalingState = "stable";
    this.connectionState = "new";
    this.localDescription = null;
    this.remoteDescription = null;
    this.added = [];
    FakePc.made.push(this);
  }

  addTransceiver(trackOrKind, init) {
    const track = typeof trackOrKind === "string" ? null : trackOrKind;
    const sender = {
      track, params: { encodings: init.sendEncodings ?? [{}] },
      replaceTrack: async (t) => { sender.track = t; },
      getParameters: () => structuredClone(sender.params),
      setParameters: async (p) => { sender.params = p; },
    };
    const t = { kind: track?.kind ?? trackOrKind, direction: init.direction, sender, init };
    this.transceivers.push(t);
    return t;
  }

  async createOffer() { return { type: "offer", sdp: `offer-${this.transceivers.length}` }; }
  async createAnswer() { return { type: "answer", sdp: "answer" }; }
  async setLocalDescription(d) {
    this.localDescription = d;
    this.signalingState = d.type === "offer" ? "have-local-offer" : "stable";
  }

  async setRemoteDescription(d) {
    this.remoteDescription = d;
    this.signalingState = d.type === "offer" ? "have-remote-offer" : "stable";
  }

  async addIceCandidate(c) { this.added.push(c); }
  close() { this.closed = true; }
}
FakePc.made = [];

const track = (kind, id = kind) => ({ kind, id });
const local = {
  id: "local", tracks: [track("audio", "mic"), track("video", "cam")],
  getAudioTracks() { return this.tracks.filter((t) => t.kind === "audio"); },
  getVideoTracks() { return this.tracks.filter((t) => t.kind === "video"); },
};

function session() {
  FakePc.made = [];
  const sent = [];
  const tracks = [];
  const errors = [];
  const s = new SfuSession({
    createPc: (config) => new FakePc(config), sfuId: "sfu", roomId: "room",
    send: async (type, data) => { sent.push([type, data]); return {}; },
    onTrack: (t) => tracks.push(t), onError: (e) => errors.push(e),
  });
  return { s, sent, tracks, errors };
}

const cand = (address, extra = {}) => ({
  candidate: `candidate:1 1 udp 2122260223 ${address} 5000 typ host`, sdpMid: "0", sdpMLineIndex: 0,
  usernameFragment: "u", ...extra });

test("the offer goes at once with microphone, camera and an empty screen slot, then the trickled candidates", async () => {
  const { s, sent } = session();
  const started = s.start(local, [{ urls: ["stun:x"] }]);
  const pc = FakePc.made[0];
  assert.deepEqual(pc.config, { bundlePolicy: "max-bundle", iceServers: [{ urls: ["stun:x"] }] });
  assert.deepEqual(pc.transceivers.map((t) => [t.kind, t.direction, t.sender.track?.id ?? null]),
    [["audio", "sendrecv", "mic"], ["video", "sendrecv", "cam"], ["video", "sendrecv", null]]);
  assert.deepEqual(pc.transceivers[2].init.sendEncodings, [SCREEN_ENCODING]);
  pc.onicecandidate({ candidate: cand("127.0.0.1") });  // gathered before the offer left: held
  assert.deepEqual(sent, []);
  await started;
  assert.deepEqual(sent.map(([type]) => type), ["offer", "ice_candidate"]);
  assert.deepEqual(sent[0][1], { room_id: "room", to: "sfu", sdp: "offer-3" });
  assert.deepEqual(sent[1][1].candidate, cand("127.0.0.1"));
  pc.onicecandidate({ candidate: cand("10.0.0.2") });  // after the offer: sent at once
  pc.onicecandidate({ candidate: cand("0a1b2c.local") });
  pc.onicecandidate({ candidate: null });
  pc.onicecandidate({ candidate: { candidate: "" } });
  assert.deepEqual(sent.map(([type]) => type), ["offer", "ice_candidate", "ice_candidate"]);
  assert.equal(s.candidatesSent, 2);
});

test("without a camera or microphone the slots are receive-only; the screen slot is still offered", async () => {
  const { s } = session();
  await s.start(null, []);
  assert.deepEqual(FakePc.made[0].transceivers.map((t) => t.direction), ["recvonly", "recvonly", "sendrecv"]);
});

test("media_reset: a new connection and offer with the same tracks and the screen being shared", async () => {
  const { s, sent, tracks } = session();
  await s.start(local, []);
  const old = FakePc.made[0];
  await s.setScreen(track("video", "screen"));
  sent.length = 0;
  await s.restart();
  const pc = FakePc.made[1];
  assert.equal(old.closed, true);
  assert.equal(s.pc, pc);
  assert.deepEqual(pc.transceivers.map((t) => t.sender.track?.id ?? null), ["mic", "cam", "screen"]);
  assert.equal(pc.transceivers[2].sender.params.degradationPreference, "maintain-resolution");
  assert.deepEqual(sent.map(([type]) => type), ["offer"]);
  assert.equal(old.onicecandidate, null);  // nothing from the old connection reaches the SFU
  assert.equal(s.offers, 2);
  assert.deepEqual(tracks, []);
});

test("an SFU offer is answered; a repeated one's invalid_signal is ignored; its tracks are named by msid", async () => {
  const { s, sent, tracks, errors } = session();
  await s.start(local, []);
  const pc = FakePc.made[0];
  await s.onAnswer("sfu-answer");
  assert.equal(pc.remoteDescription.sdp, "sfu-answer");
  const offer = ["v=0", "m=audio 9 x 111", "a=mid:3", "a=msid:ann ann-audio", "m=video 9 x 96", "a=mid:4",
    "a=msid:ann ann-video", "m=video 9 x 96", "a=mid:5", "a=msid:ann ann-screen", ""].join("\r\n");
  await s.onOffer(offer);
  assert.deepEqual(sent.at(-1), ["answer", { room_id: "room", to: "sfu", sdp: "answer" }]);
  for (const mid of ["4", "5"]) pc.ontrack({ transceiver: { mid }, track: track("video", mid), streams: [{ id: "ann" }] });
  assert.deepEqual(tracks.map((t) => [t.userId, t.label, t.track.id]), [["ann", "video", "4"], ["ann", "screen", "5"]]);
  s.send = async () => { throw Object.assign(new Error("x"), { code: "invalid_signal" }); };
  await s.onOffer(offer);
  assert.deepEqual(errors, []);
});

test("candidates from the SFU are added to the current connection only", async () => {
  const { s } = session();
  await s.start(local, []);
  const first = FakePc.made[0];
  await s.onCandidate(cand("127.0.0.1"));
  await s.onCandidate({ candidate: "" });
  assert.equal(first.added.length, 1);
  await s.restart();
  await s.onCandidate(cand("127.0.0.2"));
  assert.equal(first.added.length, 1);
  assert.equal(FakePc.made[1].added.length, 1);
});

test("sharing puts the screen on its slot at full resolution and a low frame rate; stopping empties it", async () => {
  const { s } = session();
  await s.start(local, []);
  const sender = FakePc.made[0].transceivers[2].sender;
  await s.setScreen(track("video", "screen"));
  assert.equal(sender.track.id, "screen");
  assert.equal(sender.params.degradationPreference, "maintain-resolution");
  assert.equal(sender.params.encodings[0].maxFramerate, 15);
  assert.equal(sender.params.encodings[0].scaleResolutionDownBy, 1);
  await s.setScreen(null);
  assert.equal(sender.track, null);
});

test("a device change replaces the track on its sender", async () => {
  const { s } = session();
  await s.start(local, []);
  await s.replaceTrack("video", track("video", "cam2"));
  await s.replaceTrack("audio", track("audio", "mic2"));
  assert.deepEqual(FakePc.made[0].transceivers.map((t) => t.sender.track?.id ?? null), ["mic2", "cam2", null]);
});

test("SDP and candidate helpers", () => {
  assert.deepEqual([...msidByMid("m=audio\r\na=mid:0\r\na=msid:s t\r\nm=video\r\na=mid:1\r\n").entries()], [["0", ["s", "t"]]]);
  assert.deepEqual(trackOrigin(["u", "u-screen"], "x", "video"), { userId: "u", label: "screen" });
  assert.deepEqual(trackOrigin(["u", "other"], "x", "video"), { userId: "u", label: "video" });
  assert.deepEqual(trackOrigin(undefined, "x", "audio"), { userId: "x", label: "audio" });
  assert.equal(usableCandidate(cand("HOST.LOCAL.")), false);
  assert.equal(usableCandidate(cand("192.0.2.1")), true);
  assert.equal(usableCandidate(null), false);
});

test("a camera of 1280 or more is published as three simulcast layers, of 640 as two, smaller as one", async () => {
  for (const [width, rids, scales] of [[1280, ["q", "h", "f"], [4, 2, 1]], [1920, ["q", "h", "f"], [4, 2, 1]],
    [640, ["q", "h"], [2, 1]], [639, null, null], [undefined, null, null]]) {
    const { s } = session();
    const cam = { kind: "video", id: "cam", getSettings: () => ({ width }) };
    await s.start({ ...local, tracks: [track("audio", "mic"), cam] }, []);
    const [, video, screen] = FakePc.made[0].transceivers;
    const encodings = video.init.sendEncodings ?? null;
    assert.deepEqual(encodings?.map((e) => e.rid) ?? null, rids, `width ${width}`);
    assert.deepEqual(encodings?.map((e) => e.scaleResolutionDownBy) ?? null, scales);
    if (encodings) {
      const rates = encodings.map((e) => e.maxBitrate);
      assert.deepEqual(rates, [...rates].sort((a, b) => a - b));  // low to high
    }
    assert.deepEqual(screen.init.sendEncodings, [SCREEN_ENCODING]);  // the screen stays one layer
  }
  assert.equal(cameraEncodings(1280).length, 3);
  assert.equal(cameraEncodings(320), null);
});
