// The browser side of media: the SfuSession (sfu.js) on a real RTCPeerConnection, opening the camera
// and microphone, sharing the screen, changing devices mid-call, and the network quality indicator.

import { debug, mark } from "./debug.js";
import { describeQuality, grade, summarize } from "./netquality.js";
import {
  onRemoteTrack, room, roomChanged, sendMediaState, setTileMedia, showScreen, togglePanel, updateControls,
} from "./room.js";
import { SfuSession } from "./sfu.js";
import { REQUEST_TIMEOUT_MS, signaling } from "./signaling.js";
import { $, describe, notify } from "./ui.js";

const QUALITY_EVERY_MS = 2000;

// A new media connection for the room r (its first, after a reconnect, or after media_reset).
export function startMedia(r, iceServers) {
  if (!r.session) {
    r.session = new SfuSession({
      createPc: (config) => new RTCPeerConnection(config),
      send: (type, data) => signaling.request(type, data),
      sfuId: r.sfu,
      roomId: r.id,
      onMark: mark,
      onTrack: (t) => { if (room === r) onRemoteTrack(t); },
      onState: (state) => {
        if (room !== r) return;
        document.body.dataset.media = state;
        const step = r.reconnect.mediaState(state);
        showBanner(r);
        if (step.action === "new_connection") {
          r.remote.clear();
          startMedia(r, r.session.iceServers);
        } else if (step.action === "give_up") {
          notify("The media connection failed: audio and video are unavailable. Leave and join again to retry.");
        }
      },
      onError: (err) => {
        console.error("media negotiation failed", err);
        if (room === r && err.code !== "socket_closed") notify(`Media negotiation failed: ${describe(err)}`);
      },
    });
  }
  const s = r.session;
  s.sfuId = r.sfu;
  const started = s.start(r.local, iceServers).then(() => {
    const pc = s.pc;
    setTimeout(() => {
      if (room === r && s.pc === pc && pc && !pc.remoteDescription) {
        notify("The media server did not answer: audio and video are unavailable.");
      }
    }, REQUEST_TIMEOUT_MS);
  });
  watchQuality(r);
  r.sizes?.resend();  // a new connection (maybe on a new node): the SFU has no tile sizes from us yet
  return started;
}

export function showBanner(r) {
  const banner = $("#reconnect-banner");
  const text = r.reconnect.banner;
  banner.textContent = text ?? "";
  banner.hidden = !text;
}

export function onSfuOffer(sdp) { room?.session?.onOffer(sdp); }
export function onSfuAnswer(sdp) { room?.session?.onAnswer(sdp); }
export function onSfuCandidate(candidate) { room?.session?.onCandidate(candidate); }

export async function getLocalMedia(constraints = {}) {
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, ...constraints.audio },
      video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 }, ...constraints.video },
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

// ---------------------------------------------------------------- screen sharing

async function toggleShare() {
  const r = room;
  if (!r) return;
  if (r.screenTrack) {
    await stopShare(r);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 15 } }, audio: false });
  } catch (err) {
    if (err.name !== "NotAllowedError") notify(`Screen sharing is unavailable (${err.name}).`);
    return;
  }
  const track = stream.getVideoTracks()[0];
  if (room !== r || !track) {
    track?.stop();
    return;
  }
  track.contentHint = "detail";  // text and lines stay sharp; the frame rate gives way first
  track.addEventListener("ended", () => { if (room === r && r.screenTrack === track) stopShare(r); });
  r.screenTrack = track;
  await r.session?.setScreen(track);
  r.media.screen = true;
  showScreen(r.selfId, track, "", true);
  updateControls();
  sendMediaState();
}

async function stopShare(r) {
  const track = r.screenTrack;
  r.screenTrack = null;
  track?.stop();
  await r.session?.setScreen(null);
  r.media.screen = false;
  showScreen(r.selfId, null, "", true);
  updateControls();
  sendMediaState();
}

// ---------------------------------------------------------------- devices mid-call

async function fillDevices() {
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return;
  }
  const current = {
    audioinput: room?.local?.getAudioTracks()[0]?.getSettings().deviceId,
    videoinput: room?.local?.getVideoTracks()[0]?.getSettings().deviceId,
  };
  for (const [kind, select] of [["audioinput", $("#mic-select")], ["videoinput", $("#cam-select")]]) {
    const options = devices.filter((d) => d.kind === kind).map((d, i) => {
      const option = document.createElement("option");
      option.value = d.deviceId;
      option.textContent = d.label || `${kind === "audioinput" ? "Microphone" : "Camera"} ${i + 1}`;
      option.selected = d.deviceId === current[kind];
      return option;
    });
    select.replaceChildren(...options);
    select.disabled = options.length === 0;
  }
}

// The chosen device's track replaces the old one: on the sender (no renegotiation), in the local
// stream (so a media_reset keeps it) and in our own tile; mute state carries over.
export async function switchDevice(kind, deviceId) {
  const r = room;
  if (!r?.local) return;
  const old = kind === "audio" ? r.local.getAudioTracks()[0] : r.local.getVideoTracks()[0];
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(kind === "audio"
      ? { audio: { deviceId: { exact: deviceId }, echoCancellation: true, noiseSuppression: true } }
      : { video: { deviceId: { exact: deviceId }, width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } } });
  } catch (err) {
    notify(`Cannot use that device (${err.name}).`);
    await fillDevices();
    return;
  }
  const track = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
  if (room !== r) {
    track.stop();
    return;
  }
  track.enabled = old ? old.enabled : true;
  await r.session?.replaceTrack(kind, track);
  if (old) {
    r.local.removeTrack(old);
    old.stop();
  }
  r.local.addTrack(track);
  if (kind === "video") r.selfTile.querySelector("video").srcObject = new MediaStream([track]);
  r.media[kind] = track.enabled;
  setTileMedia(r.selfTile, r.media);
  updateControls();
  roomChanged();
  debug.deviceSwitches = (debug.deviceSwitches ?? 0) + 1;
}

// A device unplugged mid-call: fall back to whatever the browser picks now.
async function onDeviceChange() {
  await fillDevices();
  const r = room;
  if (!r?.local) return;
  for (const kind of ["audio", "video"]) {
    const track = kind === "audio" ? r.local.getAudioTracks()[0] : r.local.getVideoTracks()[0];
    if (track?.readyState === "ended") {
      const options = [...$(kind === "audio" ? "#mic-select" : "#cam-select").options];
      if (options.length) await switchDevice(kind, options[0].value);
    }
  }
}

// ---------------------------------------------------------------- network quality

function watchQuality(r) {
  if (r.qualityTimer) return;
  let previous = null;
  r.qualityTimer = setInterval(async () => {
    if (room !== r) {
      clearInterval(r.qualityTimer);
      return;
    }
    const pc = r.pc;
    if (!pc || pc.connectionState !== "connected") return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    const now = summarize([...report.values()]);
    const result = grade(previous, now);
    previous = now;
    const box = $("#net-quality");
    box.dataset.level = result.level;
    const text = describeQuality(result);
    box.title = text;
    box.setAttribute("aria-label", text);
    debug.quality = result;
  }, QUALITY_EVERY_MS);
}

export function wireMedia() {
  $("#share-toggle").addEventListener("click", toggleShare);
  $("#devices-toggle").addEventListener("click", async () => {
    if ($("#devices").hidden) await fillDevices();
    togglePanel("devices");
  });
  $("#mic-select").addEventListener("change", (ev) => switchDevice("audio", ev.target.value));
  $("#cam-select").addEventListener("change", (ev) => switchDevice("video", ev.target.value));
  navigator.mediaDevices?.addEventListener?.("devicechange", onDeviceChange);
}
