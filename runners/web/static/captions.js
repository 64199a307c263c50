// Live captions in the meeting view (issue 12, docs/signaling.md): the captions on / off button for
// hosts and co-hosts, the "captions on" indicator and the "unavailable" notice every member sees (from
// the `captions` frame and room_state), each `caption` as a line under its speaker's tile (a partial
// caption is replaced in place by the next one with its id, a final one stays a few seconds) and in
// the caption panel with the running transcript; the transcript view and its downloads (JSON, WebVTT,
// SRT), in the meeting and from the list of meetings afterwards.

import { api, apiBlob, session } from "./api.js";
import { room } from "./room.js";
import { $, describe, notify } from "./ui.js";

const FINAL_SHOWN_MS = 5000;     // a final caption stays under its tile this long
const PARTIAL_SHOWN_MS = 10000;  // a partial one whose final never comes goes after this
const FORMATS = [["json", "JSON"], ["vtt", "WebVTT"], ["srt", "SRT"]];
const MANAGERS = ["host", "co_host"];
const REASONS = {
  speech_to_text_unavailable: "speech-to-text cannot be reached",
  not_configured: "this server makes no captions",
};

const cap = {
  on: false, available: true, reason: null, supported: false, canToggle: false, busy: false, timers: new Map(),
};

// ---------------------------------------------------------------- the frames and room_state

// room_state.captions: {on, available, reason}, or null on a server without captions (no button then).
export function showCaptionsOnEntry(state, fresh = true) {
  cap.supported = state.captions !== null && state.captions !== undefined;
  cap.canToggle = MANAGERS.includes(state.self.role);
  if (fresh) {
    $("#captions-log").replaceChildren();
    $("#captions-live").textContent = "";
  }
  setState(captionsOf(state.captions));
  if (!$("#captions-panel").hidden) panelOpened(state.room_id);
}

function captionsOf(value) {
  if (value === undefined || value === null) return { on: false, available: true, reason: null };
  return { on: Boolean(value.on), available: value.available !== false, reason: value.reason ?? null };
}

export function onCaptionsRole(role) {
  cap.canToggle = MANAGERS.includes(role);
  render();
}

// `captions`: {on, by, available, reason}: turned on or off, or speech-to-text lost / back.
export function onCaptionsSignal(data) {
  const was = { ...cap };
  setState(captionsOf(data));
  if (data.by && data.by !== session.user?.id && was.on !== cap.on) {
    notify(`${nameOf(data.by)} turned captions ${cap.on ? "on" : "off"}.`, "info");
  }
}

// The "unavailable" notice is #captions-state (role=status) in the meeting's head, while it lasts.
function setState({ on, available, reason }) {
  Object.assign(cap, { on, available, reason });
  render();
}

function unavailableText() {
  const why = REASONS[cap.reason] ? ` (${REASONS[cap.reason]})` : "";
  return `Captions are unavailable right now${why}; the meeting goes on and they resume when they can.`;
}

function render() {
  const button = $("#captions-toggle");
  button.hidden = !(cap.canToggle && cap.supported);
  button.textContent = cap.on ? "Stop captions" : "Start captions";
  button.setAttribute("aria-pressed", String(cap.on));
  button.disabled = cap.busy;
  $("#captions-indicator").hidden = !cap.on;
  $("#captions-panel-toggle").hidden = !cap.supported;
  if (!cap.supported) $("#captions-panel").hidden = true;
  $("#captions-panel-toggle").setAttribute("aria-pressed", String(!$("#captions-panel").hidden));
  const state = $("#captions-state");
  state.hidden = !(cap.on && !cap.available);
  state.textContent = state.hidden ? "" : unavailableText();
  document.body.dataset.captions = !cap.on ? "off" : cap.available ? "on" : "unavailable";
}

export function hideCaptions() {
  Object.assign(cap, { on: false, available: true, reason: null, supported: false, canToggle: false, busy: false });
  for (const timer of cap.timers.values()) clearTimeout(timer);
  cap.timers.clear();
  $("#captions-log").replaceChildren();
  $("#captions-live").textContent = "";
  render();
  delete document.body.dataset.captions;
}

async function toggleCaptions() {
  if (!room || cap.busy) return;
  cap.busy = true;
  render();
  const turnOn = !cap.on;
  try {
    await api("POST", `/meetings/${room.id}/captions/${turnOn ? "on" : "off"}`);
    // The `captions` frame follows; showing the new state now keeps the button honest meanwhile.
    cap.on = turnOn;
  } catch (err) {
    notify(`Captions: ${describe(err)}`);
  } finally {
    cap.busy = false;
    render();
  }
}

// ---------------------------------------------------------------- one caption

// `caption`: {caption_id, speaker_id, display_name, text, final, start_s, end_s, start_at, end_at}; a line
// of the transcript (GET .../transcript, `items`) is the same with `id` for `caption_id` and no `final`.
export function onCaption(data) {
  if (!room || typeof data.text !== "string" || !(data.caption_id ?? data.id)) return;
  const caption = normalise(data);
  showUnderTile(caption);
  showInPanel(caption);
  if (caption.final && caption.text && caption.speaker !== session.user?.id) {  // not one's own words back
    $("#captions-live").textContent = `${caption.name}: ${caption.text}`;
  }
}

function normalise(data) {
  return {
    id: String(data.caption_id ?? data.id),
    speaker: data.speaker_id ?? null,
    name: nameOf(data.speaker_id, data.display_name),
    text: data.text.trim(),
    final: data.final !== false,
    start: typeof data.start_s === "number" ? data.start_s : null,
  };
}

function nameOf(userId, given) {
  if (userId && userId === session.user?.id) return "You";
  return given || room?.members.get(userId)?.member.display_name || "Someone";
}

function tileOf(userId) {
  if (userId && userId === session.user?.id) return room.selfTile ?? null;
  return room.members.get(userId)?.tile ?? null;
}

function showUnderTile(caption) {
  const tile = tileOf(caption.speaker);
  const line = tile?.querySelector(".caption-line");
  if (!line) return;
  const key = tile.dataset.userId;
  clearTimeout(cap.timers.get(key));
  line.textContent = caption.text;
  line.dataset.captionId = caption.id;
  line.classList.toggle("partial", !caption.final);
  line.hidden = !caption.text;
  cap.timers.set(key, setTimeout(() => {
    if (line.dataset.captionId === caption.id) line.hidden = true;
    cap.timers.delete(key);
  }, caption.final ? FINAL_SHOWN_MS : PARTIAL_SHOWN_MS));
}

function showInPanel(caption) {
  const log = $("#captions-log");
  const nearEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  let item = log.querySelector(`li[data-caption-id="${CSS.escape(caption.id)}"]`);
  if (item?.dataset.final === "true" && !caption.final) return;  // a late partial never undoes a final
  if (!caption.text) {
    item?.remove();
    return;
  }
  if (!item) {
    item = transcriptItem(caption);
    log.append(item);
  } else {
    item.replaceWith(transcriptItem(caption));
  }
  if (nearEnd) log.scrollTop = log.scrollHeight;
}

function transcriptItem(caption) {
  const item = document.createElement("li");
  item.dataset.captionId = caption.id;
  item.dataset.final = String(caption.final);
  if (caption.start !== null) item.dataset.start = String(caption.start);
  const who = document.createElement("strong");
  who.textContent = caption.name;
  const text = document.createElement("p");
  text.textContent = caption.text;
  item.append(who);
  const at = clock(caption.start);
  if (at) {
    const when = document.createElement("time");
    when.textContent = at;
    item.append(" ", when);
  }
  item.append(text);
  return item;
}

// Meeting seconds as m:ss (h:mm:ss past an hour).
function clock(value) {
  if (value === null || !Number.isFinite(value)) return "";
  const s = Math.max(0, Math.floor(value));
  const mmss = `${Math.floor((s % 3600) / 60)}:${String(s % 60).padStart(2, "0")}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, "0")}` : mmss;
}

// ---------------------------------------------------------------- the transcript

function transcriptPath(meetingId, format) {
  return `/meetings/${meetingId}/transcript?format=${format}`;
}

function captionsIn(doc) {
  return (doc?.items ?? []).filter((c) => typeof c?.text === "string" && c.id !== undefined).map(normalise);
}

// The panel opened (or the room entered with it open): what was said before this page heard it.
async function backfill(meetingId) {
  let doc;
  try {
    doc = await api("GET", transcriptPath(meetingId, "json"));
  } catch {
    return;  // no transcript yet, or not allowed: the live captions still show
  }
  if (room?.id !== meetingId) return;
  const log = $("#captions-log");
  const known = new Set([...log.children].map((li) => li.dataset.captionId));
  const missing = captionsIn(doc).filter((c) => !known.has(c.id));
  const first = log.firstElementChild;
  for (const caption of missing) log.insertBefore(transcriptItem(caption), first);
  if (missing.length) log.scrollTop = log.scrollHeight;
}

// Downloads carry the bearer token, so a link fetches the file and hands it over as a blob.
function downloadLinks(meetingId) {
  return FORMATS.map(([format, label]) => {
    const a = document.createElement("a");
    a.href = `/api/v1${transcriptPath(meetingId, format)}`;
    a.className = "transcript-download";
    a.dataset.format = format;
    a.textContent = label;
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      download(meetingId, format);
    });
    return a;
  });
}

function download(meetingId, format) {
  return downloadFile(transcriptPath(meetingId, format), `transcript-${meetingId}.${format}`);
}

// An API file (a path under /api/v1, or a URL the API gave, such as a recording's transcript_url).
export async function downloadFile(path, filename) {
  let blob;
  try {
    blob = await apiBlob(path.replace(/^\/api\/v1(?=\/)/, ""));
  } catch (err) {
    notify(`Transcript: ${describe(err)}`);
    return;
  }
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function fillDownloads(selector, meetingId) {
  const box = $(selector);
  const links = downloadLinks(meetingId);
  box.replaceChildren("Download: ", ...links.flatMap((a, i) => (i ? [" · ", a] : [a])));
}

// The transcript of any meeting one is a member of, during or after it (from the list of meetings).
export async function openTranscript(meetingId, title) {
  const dialog = $("#transcript-dialog");
  $("#transcript-title").textContent = title ? `Transcript: ${title}` : "Transcript";
  const list = $("#transcript-list");
  list.replaceChildren();
  $("#transcript-empty").hidden = true;
  fillDownloads("#transcript-downloads", meetingId);
  dialog.dataset.meetingId = meetingId;
  if (!dialog.open) dialog.showModal();
  let doc;
  try {
    doc = await api("GET", transcriptPath(meetingId, "json"));
  } catch (err) {
    $("#transcript-empty").textContent = `No transcript: ${describe(err)}`;
    $("#transcript-empty").hidden = false;
    return;
  }
  if (dialog.dataset.meetingId !== meetingId) return;
  const captions = captionsIn(doc);
  list.replaceChildren(...captions.map(transcriptItem));
  $("#transcript-empty").textContent = "Nothing was captioned in this meeting.";
  $("#transcript-empty").hidden = captions.length > 0;
}

function togglePanel() {
  const panel = $("#captions-panel");
  panel.hidden = !panel.hidden;
  $("#captions-panel-toggle").setAttribute("aria-pressed", String(!panel.hidden));
  if (!panel.hidden && room) panelOpened(room.id);
}

function panelOpened(meetingId) {
  fillDownloads("#captions-downloads", meetingId);
  backfill(meetingId);
}

export function wireCaptions() {
  $("#captions-toggle").addEventListener("click", toggleCaptions);
  $("#captions-panel-toggle").addEventListener("click", togglePanel);
  $("#transcript-close").addEventListener("click", () => $("#transcript-dialog").close());
  render();
  delete document.body.dataset.captions;
}
