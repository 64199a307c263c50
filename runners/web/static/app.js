// Confero web client: accounts, meetings, and a meeting room over the signaling socket with one
// RTCPeerConnection to the SFU (docs/signaling.md). No framework, no build step.

const API = "/api/v1";
const DEFAULT_SFU_PEER_ID = "00000000-0000-4000-8000-00000000f00d";
const REQUEST_TIMEOUT_MS = 15000;
const STORAGE_KEY = "confero.session";

const $ = (selector) => document.querySelector(selector);

// What the browser tests read (page.evaluate); nothing in the app depends on it.
const debug = { refreshes: 0, reauths: 0, socketCloses: [], joinStartedAt: 0, firstRemoteFrameMs: null };
window.confero = { debug, get pc() { return room?.pc ?? null; }, get roomId() { return room?.id ?? null; } };

// ---------------------------------------------------------------- messages shown to people

const MESSAGES = {
  invalid_credentials: "Wrong username or password.",
  meeting_not_found: "There is no meeting with that ID.",
  meeting_hidden: "This meeting is for invited people only.",
  meeting_ended: "That meeting has ended.",
  meeting_cancelled: "That meeting was cancelled.",
  meeting_full: "That meeting is full.",
  meeting_locked: "The host has locked this meeting.",
  invitation_required: "This meeting is for invited people only.",
  kicked_from_meeting: "You were removed from this meeting and cannot rejoin.",
  unavailable: "The service is temporarily unavailable. Please try again.",
};

function describe(err) {
  return MESSAGES[err?.code] ?? err?.message ?? String(err);
}

let noticeTimer = null;
function notify(text, kind = "error") {
  const box = $("#notice");
  $("#notice-text").textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (kind === "info") noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

function clearNotice() {
  $("#notice").hidden = true;
}

function showView(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  document.body.dataset.view = name;
}

// ---------------------------------------------------------------- HTTP API and tokens

class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    Object.assign(this, { status, code, details });
  }
}

const session = { access: null, refresh: null, user: null, timer: null, refreshing: null };

async function api(method, path, body, { auth = true, retry = true } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) headers.Authorization = `Bearer ${session.access}`;
  let res;
  try {
    res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  if (res.status === 401 && auth && retry && session.refresh) {
    await refreshTokens();
    return api(method, path, body, { auth, retry: false });
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error ?? {};
    throw new ApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? res.statusText, e.details);
  }
  return data;
}

function setTokens(tokens) {
  session.access = tokens.access_token;
  session.refresh = tokens.refresh_token;
  if (tokens.user) session.user = tokens.user;
  // sessionStorage: survives a reload of this tab, not shared with other tabs or kept after closing.
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ refresh: session.refresh, user: session.user }));
  clearTimeout(session.timer);
  const refreshIn = Math.max(5, tokens.expires_in * 0.8) * 1000;
  session.timer = setTimeout(() => refreshTokens().catch(sessionLost), refreshIn);
}

// One refresh at a time: presenting a rotated refresh token twice would revoke the whole session.
function refreshTokens() {
  session.refreshing ??= (async () => {
    try {
      setTokens(await api("POST", "/auth/refresh", { refresh_token: session.refresh }, { auth: false }));
      debug.refreshes += 1;
      // A refused re-auth is not fatal: the socket closes with 4401 later and reconnects then.
      if (signaling?.ready) {
        await signaling.request("auth", { token: session.access })
          .then(() => { debug.reauths += 1; }, (err) => console.warn("re-auth refused", err));
      }
    } finally {
      session.refreshing = null;
    }
  })();
  return session.refreshing;
}

function sessionLost(err) {
  if (err?.status === 0) {  // offline: try again shortly rather than logging out
    session.timer = setTimeout(() => refreshTokens().catch(sessionLost), 5000);
    return;
  }
  endSession();
  notify("Your session has ended. Please log in again.");
}

function endSession() {
  teardownRoom();
  signaling?.close();
  signaling = null;
  clearTimeout(session.timer);
  Object.assign(session, { access: null, refresh: null, user: null });
  sessionStorage.removeItem(STORAGE_KEY);
  $("#who").hidden = $("#logout").hidden = true;
  showView("auth");
}

function loggedIn() {
  $("#who").textContent = session.user.display_name || session.user.username;
  $("#who").hidden = $("#logout").hidden = false;
  showView("lobby");
  loadMeetings();
}

// ---------------------------------------------------------------- signaling socket

class SignalError extends Error {
  constructor({ code, message, details }) {
    super(message);
    Object.assign(this, { code, details });
  }
}

class Signaling {
  constructor(onEvent, onClose) {
    this.onEvent = onEvent;
    this.onClose = onClose;
    this.pending = new Map();
    this.nextId = 1;
    this.ready = false;
    this.closedByUs = false;
  }

  // Resolves with `welcome` once the auth frame is accepted.
  open(token) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocket(`${scheme}//${location.host}/ws/signaling`);
    return new Promise((resolve, reject) => {
      this.ws.onopen = () => this.ws.send(JSON.stringify({ v: 1, type: "auth", data: { token } }));
      this.ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        if (!this.ready && msg.type === "welcome") {
          this.ready = true;
          resolve(msg.data);
        } else if (!this.ready && msg.type === "error") {
          reject(new SignalError(msg.data));
        } else {
          this.dispatch(msg);
        }
      };
      this.ws.onclose = (ev) => {
        const wasReady = this.ready;
        this.ready = false;
        for (const { reject: fail, timer } of this.pending.values()) {
          clearTimeout(timer);
          fail(new SignalError({ code: "socket_closed", message: "The connection closed." }));
        }
        this.pending.clear();
        if (!wasReady) reject(new SignalError({ code: `close_${ev.code}`, message: "Cannot connect." }));
        else if (!this.closedByUs) this.onClose(ev.code, ev.reason);
      };
    });
  }

  dispatch(msg) {
    const waiting = msg.re !== undefined && this.pending.get(msg.re);
    if (waiting) {
      this.pending.delete(msg.re);
      clearTimeout(waiting.timer);
      if (msg.type === "error") waiting.reject(new SignalError(msg.data));
      else waiting.resolve(msg.data);
    } else {
      this.onEvent(msg.type, msg.data);
    }
  }

  request(type, data = {}) {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this.ready) {
        reject(new SignalError({ code: "socket_closed", message: "Not connected." }));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalError({ code: "timeout", message: `No reply to ${type}.` }));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ v: 1, type, id, data }));
    });
  }

  close() {
    this.closedByUs = true;
    this.ws?.close(1000);
  }
}

let signaling = null;

async function connectSignaling() {
  if (signaling?.ready) return signaling;
  const s = new Signaling(onSignal, onSocketClosed);
  await s.open(session.access);
  signaling = s;
  return s;
}

// Close codes after which reconnecting would be refused or steal the session back (docs 6).
const FINAL_CLOSES = { 4001: "kicked", 4002: "replaced" };

async function onSocketClosed(code) {
  debug.socketCloses.push(code);
  signaling = null;
  if (!room || FINAL_CLOSES[code]) return;
  room.status("Reconnecting…");
  for (let attempt = 0, delay = 0; room && attempt < 8; attempt += 1, delay = Math.min(10000, (delay || 500) * 2)) {
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
    try {
      if (code === 4401) await refreshTokens();
      await connectSignaling();
      if (room) await resumeRoom();
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return sessionLost(err);
    }
  }
  if (room) leaveToLobby("The connection to the meeting was lost.");
}

// ---------------------------------------------------------------- the room

let room = null;

class Room {
  constructor(id) {
    this.id = id;
    this.members = new Map();  // user_id -> {member, tile}
    this.streams = new Map();  // publisher user_id (the stream id) -> MediaStream
    this.pc = null;
    this.local = null;
    this.sfu = DEFAULT_SFU_PEER_ID;
    this.queue = Promise.resolve();  // SDP operations, one at a time
    this.chatSeen = new Set();
  }

  status(text) {
    $("#meeting-status").textContent = text;
  }

  // Serialises offer/answer handling so an SFU offer never interleaves with our own.
  enqueue(step) {
    this.queue = this.queue.then(step).catch((err) => {
      console.error("negotiation failed", err);
      notify(`Media negotiation failed: ${describe(err)}`);
    });
    return this.queue;
  }
}

function tileFor(member, isSelf) {
  const tile = $("#tile-template").content.firstElementChild.cloneNode(true);
  tile.dataset.userId = member.user_id;
  tile.classList.toggle("self", isSelf);
  tile.querySelector(".name").textContent = isSelf ? `${member.display_name} (you)` : member.display_name;
  tile.querySelector(".avatar").textContent = initials(member.display_name);
  if (isSelf) tile.querySelector("audio").remove();  // never play our own microphone back
  else tile.dataset.stream = "none";  // until the SFU sends this member's tracks
  setTileMedia(tile, member.media);
  $("#tiles").append(tile);
  return tile;
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
}

function setTileMedia(tile, media) {
  tile.dataset.audio = media.audio ? "on" : "off";
  tile.dataset.video = media.video ? "on" : "off";
}

function upsertMember(member) {
  if (member.user_id === room.sfu) return;
  const known = room.members.get(member.user_id);
  if (known) {
    known.member = member;
    setTileMedia(known.tile, member.media);
    return;
  }
  room.members.set(member.user_id, { member, tile: tileFor(member, false) });
  attachStream(member.user_id);
  updateCount();
}

function removeMember(userId) {
  const known = room.members.get(userId);
  if (!known) return;
  known.tile.remove();
  room.members.delete(userId);
  room.streams.delete(userId);
  updateCount();
}

function updateCount() {
  const n = room.members.size + 1;
  room.status(n === 1 ? "Only you are here" : `${n} people`);
  $("#tiles").dataset.count = String(Math.min(n, 9));
}

function attachStream(userId) {
  const known = room.members.get(userId);
  const stream = room.streams.get(userId);
  if (!known || !stream) return;
  const video = known.tile.querySelector("video");
  const audio = known.tile.querySelector("audio");
  if (video.srcObject !== stream) {
    known.tile.dataset.stream = "live";
    video.srcObject = stream;
    audio.srcObject = stream;
    video.play().catch(() => {});
    audio.play().catch(() => {});
    watchFirstFrame(video);
  }
}

function watchFirstFrame(video) {
  if (debug.firstRemoteFrameMs !== null || !video.requestVideoFrameCallback) return;
  video.requestVideoFrameCallback(() => {
    if (debug.firstRemoteFrameMs === null && room) {
      debug.firstRemoteFrameMs = Math.round(performance.now() - debug.joinStartedAt);
    }
  });
}

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
function startMedia(r, iceServers) {
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

function onSfuOffer(sdp) {
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

function onSfuAnswer(sdp) {
  const r = room;
  r.enqueue(async () => {
    if (r.pc.signalingState === "have-local-offer") await r.pc.setRemoteDescription({ type: "answer", sdp });
  });
}

function onSfuCandidate(candidate) {
  const r = room;
  if (!candidate.candidate) return;
  r.enqueue(() => r.pc.addIceCandidate(candidate));
}

async function getLocalMedia() {
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

// A media stream kept across a password prompt, so the camera is not reopened.
let pendingLocal = null;

async function joinMeeting(meetingId, password) {
  clearNotice();
  debug.joinStartedAt = performance.now();
  debug.firstRemoteFrameMs = null;
  const media = pendingLocal ? Promise.resolve(pendingLocal) : getLocalMedia();
  pendingLocal = null;
  let state;
  try {
    await connectSignaling();
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
  teardownRoom();
  room = new Room(state.room_id);
  room.local = local;
  room.sfu = state.sfu_peer_id ?? DEFAULT_SFU_PEER_ID;
  $("#tiles").replaceChildren();
  $("#chat-log").replaceChildren();
  $("#meeting-title").textContent = "Meeting";
  showView("meeting");
  api("GET", `/meetings/${state.room_id}`).then((m) => {
    if (room?.id === state.room_id) $("#meeting-title").textContent = m.title;
  }).catch(() => {});

  const audio = room.local?.getAudioTracks()[0];
  const video = room.local?.getVideoTracks()[0];
  if (audio) audio.enabled = state.self.media.audio;  // mute_on_join
  if (video) video.enabled = state.self.media.video;
  room.media = { audio: Boolean(audio?.enabled), video: Boolean(video?.enabled), screen: false };
  room.selfTile = tileFor({ ...state.self, media: room.media }, true);
  if (room.local) room.selfTile.querySelector("video").srcObject = room.local;
  for (const member of state.members) upsertMember(member);
  updateCount();
  updateControls();
  if (room.media.audio !== state.self.media.audio || room.media.video !== state.self.media.video) sendMediaState();
  startMedia(room, state.ice_servers);
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
}

function teardownRoom() {
  if (!room) return;
  room.pc?.close();
  room.local?.getTracks().forEach((t) => t.stop());
  room = null;
  $("#tiles").replaceChildren();
  delete document.body.dataset.media;
}

function leaveToLobby(message, kind = "error") {
  teardownRoom();
  showView(session.access ? "lobby" : "auth");
  if (message) notify(message, kind);
  if (session.access) loadMeetings();
}

async function leaveMeeting() {
  const id = room?.id;
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

// ---------------------------------------------------------------- mute, camera, speaker, chat

function sendMediaState() {
  signaling?.request("media_state", { room_id: room.id, ...room.media }).catch((err) => console.warn(err));
}

function toggleTrack(kind) {
  const track = kind === "audio" ? room?.local?.getAudioTracks()[0] : room?.local?.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  room.media[kind] = track.enabled;
  setTileMedia(room.selfTile, room.media);
  updateControls();
  sendMediaState();
}

function updateControls() {
  const mic = $("#mic-toggle");
  const cam = $("#cam-toggle");
  mic.disabled = !room?.local?.getAudioTracks().length;
  cam.disabled = !room?.local?.getVideoTracks().length;
  mic.textContent = room?.media.audio ? "Mute" : "Unmute";
  cam.textContent = room?.media.video ? "Stop video" : "Start video";
  mic.setAttribute("aria-pressed", String(!room?.media.audio));
  cam.setAttribute("aria-pressed", String(!room?.media.video));
}

function setActiveSpeaker(userId) {
  for (const tile of document.querySelectorAll(".tile")) {
    tile.classList.toggle("speaking", tile.dataset.userId === userId);
  }
}

function showChat(msg) {
  if (room.chatSeen.has(msg.message_id)) return;
  room.chatSeen.add(msg.message_id);
  const item = document.createElement("li");
  const who = document.createElement("strong");
  const when = document.createElement("time");
  const text = document.createElement("p");
  who.textContent = msg.from === session.user?.id ? "You" : msg.display_name;
  when.dateTime = msg.sent_at;
  when.textContent = new Date(msg.sent_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  text.textContent = msg.text;
  item.append(who, " ", when, text);
  $("#chat-log").append(item);
  item.scrollIntoView({ block: "end" });
  if ($("#chat").hidden) {
    const unread = $("#chat-unread");
    unread.textContent = String(Number(unread.textContent || 0) + 1);
    unread.hidden = false;
  }
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
    default: break;  // unknown types are ignored (docs 2)
  }
}

// ---------------------------------------------------------------- lobby

async function loadMeetings(highlightId) {
  let page;
  try {
    page = await api("GET", "/meetings?relation=all&when=all&limit=50");
  } catch (err) {
    notify(describe(err));
    return;
  }
  const list = $("#meetings");
  list.replaceChildren(...page.items.map((m) => meetingRow(m, m.id === highlightId)));
  $("#meetings-empty").hidden = page.items.length > 0;
}

function meetingRow(m, highlight) {
  const item = document.createElement("li");
  item.dataset.meetingId = m.id;
  item.classList.toggle("highlight", highlight);
  const title = document.createElement("strong");
  title.textContent = m.title;
  const meta = document.createElement("span");
  meta.className = "hint";
  meta.textContent = [m.status, m.has_password ? "password" : null, m.your_role].filter(Boolean).join(" · ");
  const id = document.createElement("code");
  id.className = "meeting-id";
  id.textContent = m.id;
  const join = document.createElement("button");
  join.type = "button";
  join.className = "primary join";
  join.textContent = "Join";
  join.disabled = m.status === "ended" || m.status === "cancelled";
  join.addEventListener("click", () => joinMeeting(m.id));
  const text = document.createElement("div");
  text.append(title, meta, id);
  item.append(text, join);
  return item;
}

// ---------------------------------------------------------------- wiring

// Text fields are trimmed; passwords are taken exactly as typed.
function formData(form) {
  return Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, k === "password" ? String(v) : String(v).trim()]));
}

function busy(form, on) {
  for (const el of form.querySelectorAll("button, input")) el.disabled = on;
}

function onSubmit(selector, handler) {
  const form = $(selector);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = formData(form);  // before busy(): disabled inputs are left out of FormData
    busy(form, true);
    try {
      await handler(data, form);
    } catch (err) {
      notify(describe(err));
    } finally {
      busy(form, false);
    }
  });
}

function selectTab(name) {
  $("#tab-login").setAttribute("aria-selected", String(name === "login"));
  $("#tab-register").setAttribute("aria-selected", String(name === "register"));
  $("#login-form").hidden = name !== "login";
  $("#register-form").hidden = name !== "register";
}

async function logIn(username, password) {
  setTokens(await api("POST", "/auth/login", { username, password }, { auth: false }));
  clearNotice();
  loggedIn();
}

function wire() {
  $("#notice-close").addEventListener("click", clearNotice);
  $("#tab-login").addEventListener("click", () => selectTab("login"));
  $("#tab-register").addEventListener("click", () => selectTab("register"));

  onSubmit("#login-form", async (d, form) => {
    await logIn(d.username, d.password);
    form.reset();
  });
  onSubmit("#register-form", async (d, form) => {
    const body = { username: d.username, email: d.email, password: d.password };
    if (d.display_name) body.display_name = d.display_name;
    await api("POST", "/auth/register", body, { auth: false });
    await logIn(d.username, d.password);
    form.reset();
  });
  onSubmit("#create-form", async (d, form) => {
    const body = { title: d.title };
    if (d.password) body.password = d.password;
    const m = await api("POST", "/meetings", body);
    form.reset();
    notify(`Meeting “${m.title}” created. Share its ID: ${m.id}`, "info");
    await loadMeetings(m.id);
  });
  onSubmit("#join-form", async (d, form) => {
    await joinMeeting(d.meeting_id.toLowerCase());
    if (room) form.reset();
  });
  $("#reload-meetings").addEventListener("click", () => loadMeetings());

  $("#logout").addEventListener("click", async () => {
    const refresh = session.refresh;
    if (room && signaling?.ready) await signaling.request("leave_room", { room_id: room.id }).catch(() => {});
    try {
      await api("POST", "/auth/logout", { refresh_token: refresh }, { retry: false });
    } catch {
      // the session is dropped locally either way
    }
    endSession();
  });

  $("#mic-toggle").addEventListener("click", () => toggleTrack("audio"));
  $("#cam-toggle").addEventListener("click", () => toggleTrack("video"));
  $("#leave").addEventListener("click", leaveMeeting);
  $("#chat-toggle").addEventListener("click", () => {
    const chat = $("#chat");
    chat.hidden = !chat.hidden;
    $("#chat-toggle").setAttribute("aria-pressed", String(!chat.hidden));
    if (!chat.hidden) {
      $("#chat-unread").hidden = true;
      $("#chat-unread").textContent = "";
      chat.querySelector("input").focus();
    }
  });
  onSubmit("#chat-form", async (d, form) => {
    if (!room || !d.text) return;
    const reply = await signaling.request("chat", { room_id: room.id, text: d.text });
    form.reset();
    showChat({ message_id: reply.message_id, sent_at: reply.sent_at, from: session.user.id,
      display_name: session.user.display_name, text: d.text });
  });
  window.addEventListener("beforeunload", () => signaling?.close());
}

async function boot() {
  wire();
  const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null");
  if (saved?.refresh) {
    Object.assign(session, { refresh: saved.refresh, user: saved.user });
    try {
      await refreshTokens();
      loggedIn();
      return;
    } catch {
      sessionStorage.removeItem(STORAGE_KEY);
    }
  }
  showView("auth");
}

boot();
