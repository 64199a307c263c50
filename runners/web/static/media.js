// The one RTCPeerConnection with the SFU: our single offer, answers to the SFU's offers, its ICE
// candidates, remote tracks -> member streams, and opening the camera and microphone.

import { attachStream, room } from "./room.js";
import { REQUEST_TIMEOUT_MS, signaling } from "./signaling.js";
import { notify } from "./ui.js";

function onRemoteTrack(ev) {
  const stream = ev.streams[0];
  if (!stream) return;
  room.streams.set(stream.id, stream);  // the stream id (msid) is the publisher's user id
  const known = room.members.get(stream.id);
  if (known && known.tile.querySelector("video").srcObject === stream) {
    known.tile.querySelector("video").play().catch(() => {});
    known.tile.querySelector("audio").play().catch(() => {});
  } else {
    attachStream(stream.id);
  }
}

function iceGatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(resolve, 5000);  // send what we have rather than hang on a slow STUN server
  });
}

// The one client offer: our tracks to the SFU. Afterwards only the SFU offers (no glare).
export function startMedia(r, iceServers) {
  r.pc?.close();
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers });
  r.pc = pc;
  pc.ontrack = onRemoteTrack;
  pc.onconnectionstatechange = () => {
    document.body.dataset.media = pc.connectionState;
    if (pc.connectionState === "failed" && room === r) notify("The media connection failed.");
  };
  const kinds = new Set();
  for (const track of r.local?.getTracks() ?? []) {
    pc.addTrack(track, r.local);
    kinds.add(track.kind);
  }
  for (const kind of ["audio", "video"]) {
    if (!kinds.has(kind)) pc.addTransceiver(kind, { direction: "recvonly" });
  }
  return r.enqueue(async () => {
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringComplete(pc);
    if (room !== r || r.pc !== pc) return;
    try {
      await signaling.request("offer", { room_id: r.id, to: r.sfu, sdp: pc.localDescription.sdp });
    } catch (err) {
      notify(`Audio and video are unavailable (${err.code}); you can still see who is here and chat.`);
      return;
    }
    setTimeout(() => {
      if (room === r && r.pc === pc && !pc.remoteDescription) {
        notify("The media server did not answer: audio and video are unavailable.");
      }
    }, REQUEST_TIMEOUT_MS);
  });
}

export function onSfuOffer(sdp) {
  const r = room;
  r.enqueue(async () => {
    const pc = r.pc;
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await iceGatheringComplete(pc);
    if (room !== r || r.pc !== pc) return;
    try {
      await signaling.request("answer", { room_id: r.id, to: r.sfu, sdp: pc.localDescription.sdp });
    } catch (err) {
      // The SFU repeats an offer it got no answer to in time; answering both copies is harmless.
      if (err.code !== "invalid_signal") throw err;
    }
  });
}

export function onSfuAnswer(sdp) {
  const r = room;
  r.enqueue(async () => {
    if (r.pc.signalingState === "have-local-offer") await r.pc.setRemoteDescription({ type: "answer", sdp });
  });
}

export function onSfuCandidate(candidate) {
  const r = room;
  if (!candidate.candidate) return;
  r.enqueue(() => r.pc.addIceCandidate(candidate));
}

export async function getLocalMedia() {
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true },
      video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } },
    });
  } catch (videoErr) {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      notify(`Camera and microphone are unavailable (${videoErr.name}). You can still watch and chat.`);
      return null;
    }
  }
}
