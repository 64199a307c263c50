// Recording in the meeting view: the record / stop button for hosts and co-hosts, the indicator every
// member sees (from recording_started / recording_stopped and room_state.recording), and the meeting's
// recordings with their state and download links.

import { api } from "./api.js";
import { downloadFile } from "./captions.js";
import { room } from "./room.js";
import { $, describe, notify } from "./ui.js";

const rec = { activeId: null, canRecord: false, busy: false };

const STATE_TEXT = {
  starting: "starting", recording: "recording", stopping: "stopping",
  processing: "processing", completed: "ready", failed: "failed",
};

export function showRecordingOnEntry(state) {
  rec.canRecord = ["host", "co_host"].includes(state.self.role);
  setActive(state.recording?.recording_id ?? null);
  loadRecordings(state.room_id);
}

export function onRoleChanged(role) {
  rec.canRecord = ["host", "co_host"].includes(role);
  renderButton();
}

export function onRecordingSignal(type, data) {
  if (type === "recording_started") {
    setActive(data.recording_id);
  } else if (type === "recording_stopped" && (rec.activeId === null || rec.activeId === data.recording_id)) {
    setActive(null);
    if (data.reason === "failed") notify("The recording failed.");
  }
  if (room) loadRecordings(room.id);
}

export function hideRecording() {
  setActive(null);
  $("#recordings-list").replaceChildren();
}

function setActive(recordingId) {
  rec.activeId = recordingId;
  $("#recording-indicator").hidden = recordingId === null;
  renderButton();
}

function renderButton() {
  const button = $("#record-toggle");
  button.hidden = !rec.canRecord;
  button.textContent = rec.activeId ? "Stop recording" : "Record";
  button.setAttribute("aria-pressed", rec.activeId ? "true" : "false");
  button.disabled = rec.busy;
}

async function toggleRecording() {
  if (!room || rec.busy) return;
  rec.busy = true;
  renderButton();
  try {
    if (rec.activeId) {
      await api("POST", `/recordings/${rec.activeId}/stop`);
      setActive(null);
    } else {
      const started = await api("POST", "/recordings", { meeting_id: room.id });
      setActive(started.state === "recording" ? started.id : null);
    }
  } catch (err) {
    notify(`Recording: ${describe(err)}`);
  } finally {
    rec.busy = false;
    renderButton();
    if (room) loadRecordings(room.id);
  }
}

export async function loadRecordings(meetingId) {
  let list;
  try {
    list = await api("GET", `/meetings/${meetingId}/recordings`);
  } catch {
    $("#recordings").hidden = true;  // not allowed to see them, or the service is down
    return;
  }
  if (room?.id !== meetingId) return;
  const items = await Promise.all(list.items.map((r) => (
    r.state === "completed" || r.state === "failed" ? api("GET", `/recordings/${r.id}`).catch(() => r) : r)));
  $("#recordings").hidden = items.length === 0;
  $("#recordings-list").replaceChildren(...items.map(recordingItem));
}

function recordingItem(r) {
  const li = document.createElement("li");
  li.dataset.state = r.state;
  const head = document.createElement("span");
  const progress = r.state === "processing" ? ` ${Math.round(r.progress * 100)}%` : "";
  head.textContent = `${new Date(r.created_at).toLocaleString()} — ${STATE_TEXT[r.state] ?? r.state}${progress}`;
  if (r.failure_reason) head.title = r.failure_reason;
  li.append(head);
  for (const f of r.files) {
    if (!f.download_url) continue;
    const a = document.createElement("a");
    a.href = f.download_url;
    a.download = f.name;
    const mb = (f.size / 1e6).toFixed(1);
    a.textContent = `${f.kind === "meeting" ? "meeting" : "participant"} file (${mb} MB, ${Math.round(f.duration_s)} s)`;
    li.append(" ", a);
  }
  if (r.transcript_url && (r.state === "completed" || r.state === "processing")) {
    // The captions of the recording's span as WebVTT subtitles timed from its start (bearer: as a blob).
    const a = document.createElement("a");
    a.href = r.transcript_url;
    a.className = "recording-transcript";
    a.textContent = "subtitles (WebVTT)";
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      downloadFile(r.transcript_url, `subtitles-${r.id}.vtt`);
    });
    li.append(" ", a);
  }
  return li;
}

export function wireRecordings() {
  $("#record-toggle").addEventListener("click", toggleRecording);
  $("#reload-recordings").addEventListener("click", () => room && loadRecordings(room.id));
}
