// The lobby before a meeting: the meeting's name and time, camera / microphone / speaker pickers, a
// self-preview, a microphone level meter, joining with the microphone or camera off, and the refusal
// (ended, cancelled, hidden, ...) when there is one. The logic is in levels.js, refusals.js, meetinglist.js.
//
// The stream opened here is handed to the meeting (meeting.js takes it with takePreparedMedia), so the
// camera is opened once and the chosen devices and mute choices are the ones the meeting uses.

import { api } from "./api.js";
import { constraintsFor, groupDevices, meterPercent, pickDevice, rmsOfBytes, smooth } from "./levels.js";
import { formatWhen } from "./meetinglist.js";
import { refusal, refusalForStatus } from "./refusals.js";
import { room } from "./room.js";
import { $, clearNotice, describe, showView } from "./ui.js";

const SAVED = "confero.devices";
const state = { meetingId: null, stream: null, prepared: null, audioContext: null, meterTimer: null, level: 0, generation: 0 };
let join = () => {};
let back = () => {};

function saved() {
  try {
    return JSON.parse(localStorage.getItem(SAVED) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

function save() {
  const choice = { audio: $("#prejoin-mic").value, video: $("#prejoin-cam").value, speaker: $("#prejoin-speaker").value,
    muted: $("#prejoin-mute").checked, cameraOff: $("#prejoin-camoff").checked };
  localStorage.setItem(SAVED, JSON.stringify(choice));
}

// The meeting takes the previewed stream (its tracks enabled as chosen); null when there is none.
export function takePreparedMedia() {
  const stream = state.prepared;
  state.prepared = null;
  return stream;
}

// The speaker choice applies to every <audio> the meeting adds (where the browser can choose).
function followSpeaker() {
  const apply = (el) => {
    const id = saved().speaker;
    if (id && typeof el.setSinkId === "function") el.setSinkId(id).catch(() => {});
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (node.nodeType === 1) node.querySelectorAll?.("audio").forEach(apply);
      }
    }
  }).observe($("#tiles"), { childList: true, subtree: true });
}

function fillSelect(select, options, chosen, none) {
  select.replaceChildren(...(options.length ? options : [{ id: "", label: none }]).map((o) => {
    const opt = document.createElement("option");
    opt.value = o.id;
    opt.textContent = o.label;
    return opt;
  }));
  select.value = chosen;
  select.disabled = options.length === 0;
}

async function listDevices() {
  const devices = groupDevices(await navigator.mediaDevices?.enumerateDevices?.().catch(() => []) ?? []);
  const s = saved();
  const audio = state.stream?.getAudioTracks()[0]?.getSettings().deviceId;
  const video = state.stream?.getVideoTracks()[0]?.getSettings().deviceId;
  fillSelect($("#prejoin-mic"), devices.audioinput, pickDevice(devices.audioinput, audio ?? s.audio), "No microphone");
  fillSelect($("#prejoin-cam"), devices.videoinput, pickDevice(devices.videoinput, video ?? s.video), "No camera");
  fillSelect($("#prejoin-speaker"), devices.audiooutput, pickDevice(devices.audiooutput, s.speaker), "System default");
  $("#prejoin-speaker-row").hidden = !("setSinkId" in HTMLMediaElement.prototype);
}

function stopPreview({ keepStream = false } = {}) {
  clearInterval(state.meterTimer);
  state.meterTimer = null;
  state.audioContext?.close().catch(() => {});
  state.audioContext = null;
  if (!keepStream) state.stream?.getTracks().forEach((t) => t.stop());
  state.stream = null;
  $("#prejoin-preview").srcObject = null;
  $("#prejoin-level").value = 0;
}

function startMeter(stream) {
  const track = stream.getAudioTracks()[0];
  if (!track || !window.AudioContext) return;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const bytes = new Uint8Array(analyser.fftSize);
  state.audioContext = ctx;
  ctx.resume().catch(() => {});
  state.meterTimer = setInterval(() => {
    analyser.getByteTimeDomainData(bytes);
    state.level = smooth(state.level, track.enabled ? meterPercent(rmsOfBytes(bytes)) : 0);
    $("#prejoin-level").value = state.level;
    $("#prejoin-level").dataset.level = String(state.level);
  }, 100);
}

function applyToggles() {
  const s = state.stream;
  s?.getAudioTracks().forEach((t) => { t.enabled = !$("#prejoin-mute").checked; });
  s?.getVideoTracks().forEach((t) => { t.enabled = !$("#prejoin-camoff").checked; });
  $("#prejoin-preview-box").dataset.video = $("#prejoin-camoff").checked || !s?.getVideoTracks().length ? "off" : "on";
}

async function openPreview() {
  stopPreview();
  const generation = ++state.generation;  // a later preview, a join or leaving makes this one stale
  $("#prejoin-preview-box").dataset.ready = "false";
  const audioId = $("#prejoin-mic").value;
  const videoId = $("#prejoin-cam").value;
  let stream = null;
  $("#prejoin-devices-state").textContent = "";
  try {
    stream = await navigator.mediaDevices.getUserMedia(constraintsFor({ audioId, videoId }));
  } catch (videoErr) {
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraintsFor({ audioId, video: false }));
      $("#prejoin-devices-state").textContent = `The camera is unavailable (${videoErr.name}).`;
    } catch (err) {
      $("#prejoin-devices-state").textContent =
        `Camera and microphone are unavailable (${err.name}). You can still join to watch and chat.`;
    }
  }
  if (generation !== state.generation || state.meetingId === null) {  // stale: the browser took too long
    stream?.getTracks().forEach((t) => t.stop());
    return;
  }
  state.stream = stream;
  if (stream) {
    $("#prejoin-preview").srcObject = stream;
    startMeter(stream);
  }
  applyToggles();
  await listDevices();  // labels are known once a stream was granted
  $("#prejoin-preview-box").dataset.ready = "true";
}

function showRefusal(r) {
  $("#prejoin-refusal").textContent = r?.message ?? "";
  $("#prejoin-refusal").hidden = !r;
  $("#prejoin-join").disabled = Boolean(r?.final);
}

async function loadMeeting(meetingId) {
  try {
    const m = await api("GET", `/meetings/${meetingId}`);
    if (state.meetingId !== meetingId) return null;
    $("#prejoin-title").textContent = m.title;
    $("#prejoin-when").textContent = formatWhen(m);
    showRefusal(refusalForStatus(m));
    return m;
  } catch (err) {
    if (state.meetingId !== meetingId) return null;
    $("#prejoin-title").textContent = "Meeting";
    $("#prejoin-when").textContent = "";
    showRefusal(refusal(err.code, err.details) ?? { message: describe(err), final: false });
    return null;
  }
}

// Opens the lobby of a meeting (from the list, the join form, or a /m/<id> address).
export async function openPrejoin(meetingId) {
  clearNotice();
  state.meetingId = meetingId;
  history.replaceState(null, "", `/m/${meetingId}`);
  $("#prejoin-title").textContent = "Meeting";
  $("#prejoin-when").textContent = "";
  $("#prejoin-mute").checked = Boolean(saved().muted);
  $("#prejoin-camoff").checked = Boolean(saved().cameraOff);
  showRefusal(null);
  $("#prejoin-preview-box").dataset.ready = "false";
  showView("prejoin");
  $("#prejoin-title").focus();
  const meeting = loadMeeting(meetingId);
  await listDevices();
  if ((await meeting) && !$("#prejoin-join").disabled) await openPreview();
}

export function closePrejoin() {
  state.meetingId = null;
  state.generation += 1;
  stopPreview();
  if (location.pathname !== "/") history.replaceState(null, "", "/");
}

async function joinNow() {
  const meetingId = state.meetingId;
  save();
  applyToggles();
  state.generation += 1;
  state.prepared = state.stream;
  stopPreview({ keepStream: true });
  $("#prejoin-join").disabled = true;
  try {
    await join(meetingId);
  } finally {
    $("#prejoin-join").disabled = false;
  }
  state.prepared = null;
  if (room?.id === meetingId) {
    state.meetingId = null;
    return;
  }
  // Refused (the notice says why) or the password prompt was dismissed: stay here, show the state.
  if (state.meetingId === meetingId && document.body.dataset.view === "prejoin") {
    const m = await loadMeeting(meetingId);
    if (m && !$("#prejoin-join").disabled) await openPreview();
  }
}

export function wirePrejoin(joinMeeting, backToList) {
  join = joinMeeting;
  back = backToList;
  $("#prejoin-join").addEventListener("click", joinNow);
  $("#prejoin-back").addEventListener("click", () => {
    clearNotice();
    closePrejoin();
    back();
  });
  $("#prejoin-mute").addEventListener("change", () => { applyToggles(); save(); });
  $("#prejoin-camoff").addEventListener("change", () => { applyToggles(); save(); });
  for (const id of ["#prejoin-mic", "#prejoin-cam"]) {
    $(id).addEventListener("change", () => { save(); openPreview(); });
  }
  $("#prejoin-speaker").addEventListener("change", () => {
    save();
    const el = $("#prejoin-preview");
    if (typeof el.setSinkId === "function") el.setSinkId($("#prejoin-speaker").value).catch(() => {});
  });
  for (const type of ["pointerdown", "keydown"]) {
    $("#view-prejoin").addEventListener(type, () => state.audioContext?.resume().catch(() => {}));
  }
  navigator.mediaDevices?.addEventListener?.("devicechange", () => {
    if (state.meetingId) listDevices();
  });
  followSpeaker();
}
