// Being in a meeting: joining (with the password prompt), entering and resuming the room, leaving,
// what the server's events do to it, reconnecting when the socket drops (reconnect.js decides), and
// a new media connection when the server says media_reset.

import { api, ApiError, refreshTokens, session, sessionLost } from "./api.js";
import { debug, mark } from "./debug.js";
import { loadMeetings } from "./lobby.js";
import { getLocalMedia, onSfuAnswer, onSfuCandidate, onSfuOffer, showBanner, startMedia } from "./media.js";
import {
  applyLayout, beginRoom, DEFAULT_SFU_PEER_ID, removeMember, room, roomChanged, sendMediaState, setActiveSpeaker,
  setMemberMedia, setMemberRole, showChat, teardownRoom, tileFor, updateControls, updateCount, upsertMember,
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
  debug.marks = {};
  const media = pendingLocal ? Promise.resolve(pendingLocal) : getLocalMedia();
  media.then(() => mark("local_media"));
  pendingLocal = null;
  let state;
  try {
    await connect();
    mark("socket");
    state = await signaling.request("join_room", password ? { room_id: meetingId, password } : { room_id: meetingId });
    mark("room_state");
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
  r.selfId = state.self.user_id;
  r.selfName = state.self.display_name;
  r.role = state.self.role;
  $("#tiles").replaceChildren();
  $("#chat-log").replaceChildren();
  $("#chat-unread").hidden = true;
  $("#chat-unread").textContent = "";
  $("#meeting-title").textContent = "Meeting";
  showView("meeting");
  api("GET", `/meetings/${state.room_id}`).then((m) => {
    if (room?.id !== state.room_id) return;
    $("#meeting-title").textContent = m.title;
    room.locked = Boolean(m.locked);
    roomChanged();
  }).catch(() => {});

  const audio = r.local?.getAudioTracks()[0];
  const video = r.local?.getVideoTracks()[0];
  if (audio) audio.enabled = state.self.media.audio;  // mute_on_join
  if (video) video.enabled = state.self.media.video;
  r.media = { audio: Boolean(audio?.enabled), video: Boolean(video?.enabled), screen: false,
    hand: Boolean(state.self.media.hand) };
  r.selfTile = tileFor({ ...state.self, media: r.media }, true);
  if (video) r.selfTile.querySelector("video").srcObject = new MediaStream([video]);
  for (const member of state.members) upsertMember(member);
  updateCount();
  updateControls();
  applyLayout();
  roomChanged();
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
  r.role = state.self.role;
  if (state.self.media.audio !== r.media.audio || state.self.media.video !== r.media.video
      || state.self.media.screen !== r.media.screen) sendMediaState();
  startMedia(r, state.ice_servers);
  r.reconnect.resumed();
  showBanner(r);
  roomChanged();
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

// What to do and when is reconnect.js's (a state machine); this only carries it out.
async function onSocketClosed(code) {
  debug.socketCloses.push(code);
  const r = room;
  if (!r) return;
  let step = r.reconnect.socketClosed(code);
  showBanner(r);
  while (room === r && step.action === "retry") {
    await new Promise((done) => setTimeout(done, step.delay));
    if (room !== r) return;
    try {
      if (step.refresh) await refreshTokens();
      await connect();
      await resumeRoom();
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return sessionLost(err);
      step = r.reconnect.attemptFailed();
      showBanner(r);
    }
  }
  if (room === r && step.action === "give_up") leaveToLobby("The connection to the meeting was lost.");
}

// media_reset (the media node went away or is draining): membership stays, media starts over.
function onMediaReset(data) {
  const r = room;
  const step = r.reconnect.mediaReset(data.reason);
  debug.mediaResets = (debug.mediaResets ?? 0) + 1;
  if (step.action !== "new_connection") return;
  showBanner(r);
  r.remote.clear();
  startMedia(r, r.session?.iceServers);
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
    case "media_state":
      setMemberMedia(data.user_id, { audio: data.audio, video: data.video, screen: data.screen, hand: Boolean(data.hand) });
      break;
    case "media_reset": onMediaReset(data); break;
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
    case "room_updated":
      room.locked = data.locked;
      roomChanged();
      notify(data.locked ? "The meeting is locked: nobody new can join." : "The meeting is unlocked.", "info");
      break;
    case "recording_started":
    case "recording_stopped": onRecordingSignal(type, data); break;
    case "role_changed":
      setMemberRole(data.user_id, data.role);
      if (data.user_id === session.user?.id) {
        onRoleChanged(data.role);
        onCaptionsRole(data.role);
        if (data.role !== "participant") notify(data.role === "host" ? "You are now the host." : "You are now a co-host.", "info");
      }
      break;
    case "captions": onCaptionsSignal(data); break;
    case "caption": onCaption(data); break;
    default: break;  // unknown types are ignored (docs 2)
  }
}
