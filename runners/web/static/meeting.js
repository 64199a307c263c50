// Being in a meeting: joining (with the password prompt), entering and resuming the room, leaving,
// what the server's events do to it, and reconnecting when the socket drops.

import { api, ApiError, refreshTokens, session, sessionLost } from "./api.js";
import { debug } from "./debug.js";
import { loadMeetings } from "./lobby.js";
import { getLocalMedia, onSfuAnswer, onSfuCandidate, onSfuOffer, startMedia } from "./media.js";
import { takePreparedMedia } from "./prejoin.js";
import {
  beginRoom, DEFAULT_SFU_PEER_ID, removeMember, room, sendMediaState, setActiveSpeaker, setTileMedia,
  showChat, teardownRoom, tileFor, updateControls, updateCount, upsertMember,
} from "./room.js";
import { hideRecording, onRecordingSignal, onRoleChanged, showRecordingOnEntry } from "./recordings.js";
import { hideCaptions, onCaption, onCaptionsRole, onCaptionsSignal, showCaptionsOnEntry } from "./captions.js";
import { connectSignaling, signaling } from "./signaling.js";
import { $, clearNotice, describe, notify, showView } from "./ui.js";

function connect() {
  return connectSignaling(session.access, onSignal, onSocketClosed);
}

// A media stream kept across a password prompt, so the camera is not reopened.
let pendingLocal = null;

export async function joinMeeting(meetingId, password) {
  clearNotice();
  debug.joinStartedAt = performance.now();
  debug.firstRemoteFrameMs = null;
  const prepared = pendingLocal ?? takePreparedMedia();  // the lobby's stream: its devices and mute choices
  const media = prepared ? Promise.resolve(prepared) : getLocalMedia();
  pendingLocal = null;
  let state;
  try {
    await connect();
    state = await signaling.request("join_room", password ? { room_id: meetingId, password } : { room_id: meetingId });
  } catch (err) {
    const local = await media;
    const needsPassword = err.code === "password_required" || err.code === "wrong_meeting_password";
    const again = needsPassword ? await askPassword(err.code === "wrong_meeting_password") : null;
    if (again !== null) {
      pendingLocal = local;
      return joinMeeting(meetingId, again);
    }
    local?.getTracks().forEach((t) => t.stop());
    if (!needsPassword) notify(describe(err));
    return;
  }
  enterRoom(state, await media);
}

function askPassword(wrong) {
  const dialog = $("#password-dialog");
  const input = dialog.querySelector("input");
  $("#password-hint").textContent = wrong ? "Wrong password, try again." : "This meeting needs a password.";
  dialog.dataset.wrong = wrong ? "true" : "false";
  input.value = "";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" && input.value ? input.value : null);
    }, { once: true });
  });
}

function enterRoom(state, local) {
  const r = beginRoom(state.room_id);
  r.local = local;
  r.sfu = state.sfu_peer_id ?? DEFAULT_SFU_PEER_ID;
  $("#tiles").replaceChildren();
  $("#chat-log").replaceChildren();
  $("#meeting-title").textContent = "Meeting";
  showView("meeting");
  api("GET", `/meetings/${state.room_id}`).then((m) => {
    if (room?.id === state.room_id) $("#meeting-title").textContent = m.title;
  }).catch(() => {});

  const audio = r.local?.getAudioTracks()[0];
  const video = r.local?.getVideoTracks()[0];
  if (audio) audio.enabled = state.self.media.audio && audio.enabled;  // mute_on_join, or muted in the lobby
  if (video) video.enabled = state.self.media.video && video.enabled;
  r.media = { audio: Boolean(audio?.enabled), video: Boolean(video?.enabled), screen: false };
  r.selfTile = tileFor({ ...state.self, media: r.media }, true);
  if (r.local) r.selfTile.querySelector("video").srcObject = r.local;
  for (const member of state.members) upsertMember(member);
  updateCount();
  updateControls();
  if (r.media.audio !== state.self.media.audio || r.media.video !== state.self.media.video) sendMediaState();
  startMedia(r, state.ice_servers);
  showRecordingOnEntry(state);
  showCaptionsOnEntry(state);
}

// After a reconnect: the membership was kept (grace period), the peer connection starts over.
async function resumeRoom() {
  const r = room;
  const state = await signaling.request("join_room", { room_id: r.id });
  if (room !== r) return;
  for (const userId of [...r.members.keys()]) {
    if (!state.members.some((m) => m.user_id === userId)) removeMember(userId);
  }
  for (const member of state.members) upsertMember(member);
  updateCount();
  if (state.self.media.audio !== r.media.audio || state.self.media.video !== r.media.video) sendMediaState();
  startMedia(r, state.ice_servers);
  showRecordingOnEntry(state);
  showCaptionsOnEntry(state, false);
}

function leaveToLobby(message, kind = "error") {
  hideRecording();
  hideCaptions();
  teardownRoom();
  showView(session.access ? "lobby" : "auth");
  if (message) notify(message, kind);
  if (session.access) loadMeetings();
}

export async function leaveMeeting() {
  const id = room?.id;
  hideCaptions();
  teardownRoom();
  if (id && signaling?.ready) {
    try {
      await signaling.request("leave_room", { room_id: id });
    } catch (err) {
      if (err.code !== "not_in_room") console.warn("leave_room", err);
    }
  }
  leaveToLobby();
}

// ---------------------------------------------------------------- the socket closing

// Close codes after which reconnecting would be refused or steal the session back (docs 6).
const FINAL_CLOSES = { 4001: "kicked", 4002: "replaced" };

async function onSocketClosed(code) {
  debug.socketCloses.push(code);
  if (!room || FINAL_CLOSES[code]) return;
  room.status("Reconnecting…");
  for (let attempt = 0, delay = 0; room && attempt < 8; attempt += 1, delay = Math.min(10000, (delay || 500) * 2)) {
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
    try {
      if (code === 4401) await refreshTokens();
      await connect();
      if (room) await resumeRoom();
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return sessionLost(err);
    }
  }
  if (room) leaveToLobby("The connection to the meeting was lost.");
}

// ---------------------------------------------------------------- server events

const ROOM_CLOSED = {
  ended: "The host ended the meeting.",
  cancelled: "The meeting was cancelled.",
  deleted: "The meeting was deleted.",
};

function onSignal(type, data) {
  if (type === "error") {
    if (data.code !== "unauthenticated") console.warn("signaling error", data);
    return;
  }
  if (!room || (data.room_id && data.room_id !== room.id)) return;
  const fromSfu = data.from === room.sfu;
  switch (type) {
    case "member_joined": upsertMember(data); break;
    case "member_left": removeMember(data.user_id); break;
    case "media_state": {
      const known = room.members.get(data.user_id);
      if (known) {
        known.member.media = { audio: data.audio, video: data.video, screen: data.screen };
        setTileMedia(known.tile, known.member.media);
      }
      break;
    }
    case "active_speaker": setActiveSpeaker(data.user_id); break;
    case "offer": if (fromSfu) onSfuOffer(data.sdp); break;
    case "answer": if (fromSfu) onSfuAnswer(data.sdp); break;
    case "ice_candidate": if (fromSfu) onSfuCandidate(data.candidate); break;
    case "chat": showChat(data); break;
    case "kicked": leaveToLobby("The host removed you from the meeting."); break;
    case "room_closed": leaveToLobby(ROOM_CLOSED[data.reason] ?? "The meeting is over.", "info"); break;
    case "session_replaced": leaveToLobby("You joined this meeting from another tab or window."); break;
    case "removed":
      if (data.reason === "expired") resumeRoom().catch(() => leaveToLobby("You dropped out of the meeting."));
      else leaveToLobby("You left this meeting from another device.", "info");
      break;
    case "room_updated": $("#meeting-title").classList.toggle("locked", data.locked); break;
    case "recording_started":
    case "recording_stopped": onRecordingSignal(type, data); break;
    case "role_changed":
      if (data.user_id === session.user?.id) {
        onRoleChanged(data.role);
        onCaptionsRole(data.role);
      }
      break;
    case "captions": onCaptionsSignal(data); break;
    case "caption": onCaption(data); break;
    default: break;  // unknown types are ignored (docs 2)
  }
}
