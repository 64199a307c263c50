// The meeting view and its state: the current Room, camera and screen tiles and their layout (grid,
// speaker, pin), the mute, camera, hand and layout buttons, the active speaker, chat with its unread
// badge. The rules live in DOM-free modules (layout.js, unread.js, participants.js, reconnect.js).

import { session } from "./api.js";
import { debug, mark } from "./debug.js";
import { chooseLayout, GRID, SPEAKER, togglePin } from "./layout.js";
import { updateHands } from "./participants.js";
import { Reconnect } from "./reconnect.js";
import { signaling } from "./signaling.js";
import { TileSizes } from "./tilesizes.js";
import { $, describe, notify, onSubmit } from "./ui.js";
import { UnreadCounter } from "./unread.js";

export const DEFAULT_SFU_PEER_ID = "00000000-0000-4000-8000-00000000f00d";

export class Room {
  constructor(id) {
    this.id = id;
    this.members = new Map();  // user_id -> {member, tile}
    this.remote = new Map();   // publisher user_id -> {audio, video, screen} MediaStreamTracks
    this.screens = new Map();  // user_id (self included) -> screen tile
    this.local = null;
    this.screenTrack = null;
    this.session = null;       // the SfuSession (media.js)
    this.sfu = DEFAULT_SFU_PEER_ID;
    this.selfId = session.user?.id ?? null;
    this.role = "participant";
    this.locked = false;
    this.media = { audio: false, video: false, screen: false, hand: false };
    this.hands = [];           // user ids in the order their hands went up
    this.layoutMode = GRID;
    this.pinned = null;
    this.speaker = null;
    this.unread = new UnreadCounter();
    this.reconnect = new Reconnect();
    this.chatSeen = new Set();
    // The size each remote tile is shown at, for the SFU's layer choice (docs/signaling.md 13.11).
    this.sizes = new TileSizes({
      send: (videoSizes) => signaling.request("media_preferences", { room_id: id, video_sizes: videoSizes }),
    });
  }

  get pc() {
    return this.session?.pc ?? null;
  }

  status(text) {
    $("#meeting-status").textContent = text;
  }
}

// The meeting this page is in, or null.
export let room = null;

// Listeners other modules register for room changes (the participants panel).
const changeListeners = [];
export function onRoomChange(listener) {
  changeListeners.push(listener);
}
export function roomChanged() {
  if (!room) return;
  for (const listener of changeListeners) listener(room);
}

export function beginRoom(id) {
  teardownRoom();
  room = new Room(id);
  return room;
}

export function teardownRoom() {
  if (!room) return;
  room.sizes.close();
  resizeObserver?.disconnect();
  room.session?.close();
  room.local?.getTracks().forEach((t) => t.stop());
  room.screenTrack?.stop();
  room = null;
  $("#tiles").replaceChildren();
  $("#reconnect-banner").hidden = true;
  for (const panel of ["#people", "#devices"]) $(panel).hidden = true;
  delete document.body.dataset.media;
}

// ---------------------------------------------------------------- tiles

export function tileFor(member, isSelf) {
  const tile = $("#tile-template").content.firstElementChild.cloneNode(true);
  tile.dataset.userId = member.user_id;
  tile.dataset.kind = "camera";
  tile.dataset.key = isSelf ? "self" : member.user_id;
  tile.classList.toggle("self", isSelf);
  const label = isSelf ? `${member.display_name} (you)` : member.display_name;
  tile.querySelector(".name").textContent = label;
  tile.querySelector(".avatar").textContent = initials(member.display_name);
  if (isSelf) tile.querySelector("audio").remove();  // never play our own microphone back
  else tile.dataset.stream = "none";  // until the SFU sends this member's tracks
  wirePin(tile, label);
  setTileMedia(tile, member.media);
  $("#tiles").append(tile);
  if (!isSelf) watchSize(tile);
  return tile;
}

// Each remote tile's rendered size goes to room.sizes (debounced there, sent only when it changed).
let resizeObserver = null;

function watchSize(tile) {
  if (typeof ResizeObserver === "undefined") return;
  resizeObserver ??= new ResizeObserver((entries) => {
    if (!room) return;
    for (const entry of entries) {
      const key = entry.target.closest(".tile")?.dataset.key;
      const { width, height } = entry.contentRect;
      room.sizes.observe(key, entry.target.isConnected ? width : 0, height, window.devicePixelRatio || 1);
    }
  });
  const video = tile.querySelector("video");
  if (video) resizeObserver.observe(video);
}

function unwatchSize(tile) {
  const video = tile.querySelector("video");
  if (video) resizeObserver?.unobserve(video);
  room?.sizes.forget(tile.dataset.key);
}

function screenTileFor(userId, name, isSelf) {
  const tile = $("#tile-template").content.firstElementChild.cloneNode(true);
  tile.classList.add("screen");
  tile.classList.toggle("self", isSelf);
  tile.dataset.userId = userId;
  tile.dataset.kind = "screen";
  tile.dataset.key = `${isSelf ? "self" : userId}:screen`;
  tile.dataset.video = "on";
  tile.dataset.audio = "on";
  const label = isSelf ? "Your screen" : `${name}'s screen`;
  tile.querySelector(".name").textContent = label;
  tile.querySelector(".avatar").remove();
  tile.querySelector("audio").remove();
  tile.querySelector(".caption-line").remove();
  for (const badge of tile.querySelectorAll(".badge, .hand")) badge.remove();
  wirePin(tile, label);
  $("#tiles").append(tile);
  if (!isSelf) watchSize(tile);
  return tile;
}

function wirePin(tile, label) {
  const pin = tile.querySelector(".pin");
  pin.setAttribute("aria-label", `Pin ${label}`);
  pin.addEventListener("click", () => {
    if (!room) return;
    room.pinned = togglePin(room.pinned, tile.dataset.key);
    applyLayout();
  });
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
}

export function setTileMedia(tile, media) {
  tile.dataset.audio = media.audio ? "on" : "off";
  tile.dataset.video = media.video ? "on" : "off";
  const hand = tile.querySelector(".hand");
  if (hand) hand.hidden = !media.hand;
}

export function upsertMember(member) {
  if (member.user_id === room.sfu) return;
  const known = room.members.get(member.user_id);
  if (known) {
    known.member = member;
    setTileMedia(known.tile, member.media);
  } else {
    room.members.set(member.user_id, { member, tile: tileFor(member, false) });
    attachStreams(member.user_id);
    updateCount();
    applyLayout();
  }
  if (member.media?.hand && !room.hands.includes(member.user_id)) room.hands = updateHands(room.hands, member.user_id, true);
  syncScreen(member.user_id);
  roomChanged();
}

export function removeMember(userId) {
  const known = room.members.get(userId);
  if (!known) return;
  known.tile.remove();
  unwatchSize(known.tile);
  const screenTile = room.screens.get(userId);
  if (screenTile) unwatchSize(screenTile);
  screenTile?.remove();
  room.screens.delete(userId);
  room.members.delete(userId);
  room.remote.delete(userId);
  room.hands = updateHands(room.hands, userId, false);
  if (room.speaker === userId) room.speaker = null;
  updateCount();
  applyLayout();
  roomChanged();
}

export function setMemberMedia(userId, media) {
  const known = room.members.get(userId);
  if (!known) return;
  const raised = media.hand && !known.member.media?.hand;
  known.member.media = media;
  setTileMedia(known.tile, media);
  room.hands = updateHands(room.hands, userId, Boolean(media.hand));
  if (raised) notify(`${known.member.display_name} raised their hand.`, "info");
  syncScreen(userId);
  roomChanged();
}

export function setMemberRole(userId, role) {
  if (userId === room.selfId) {
    room.role = role;
  } else {
    const known = room.members.get(userId);
    if (known) known.member.role = role;
  }
  roomChanged();
}

export function updateCount() {
  const n = room.members.size + 1;
  room.status(n === 1 ? "Only you are here" : `${n} people`);
  $("#tiles").dataset.count = String(Math.min(n + room.screens.size, 9));
}

// ---------------------------------------------------------------- remote tracks

// A track from the SFU: label "audio" / "video" (camera) / "screen" (docs/signaling.md 13.8).
export function onRemoteTrack({ userId, label, track }) {
  const tracks = room.remote.get(userId) ?? {};
  const slot = label === "screen" ? "screen" : track.kind;
  tracks[slot] = track;
  room.remote.set(userId, tracks);
  attachStreams(userId);
  syncScreen(userId);
}

function sameTracks(stream, tracks) {
  const now = stream?.getTracks() ?? [];
  return now.length === tracks.length && tracks.every((t) => now.includes(t));
}

export function attachStreams(userId) {
  const known = room.members.get(userId);
  const tracks = room.remote.get(userId);
  if (!known || !tracks) return;
  const video = known.tile.querySelector("video");
  const audio = known.tile.querySelector("audio");
  const camera = [tracks.video].filter(Boolean);
  const sound = [tracks.audio].filter(Boolean);
  if (camera.length && !sameTracks(video.srcObject, camera)) {
    known.tile.dataset.stream = "live";
    video.srcObject = new MediaStream(camera);
    video.play().catch(() => {});
    watchFirstFrame(video);
  }
  if (sound.length && !sameTracks(audio.srcObject, sound)) {
    audio.srcObject = new MediaStream(sound);
    audio.play().catch(() => {});
  }
}

// The screen tile of a member exists while it says it shares (media.screen) and its track is here.
function syncScreen(userId) {
  const known = room.members.get(userId);
  const track = room.remote.get(userId)?.screen;
  const sharing = Boolean(known?.member.media?.screen && track && track.readyState !== "ended");
  showScreen(userId, sharing ? track : null, known?.member.display_name, false);
}

export function showScreen(userId, track, name, isSelf) {
  let tile = room.screens.get(userId);
  if (!track) {
    if (tile) {
      tile.remove();
      unwatchSize(tile);
      room.screens.delete(userId);
      if (room.pinned === tile.dataset.key) room.pinned = null;
      updateCount();
      applyLayout();
    }
    return;
  }
  if (!tile) {
    tile = screenTileFor(userId, name ?? "", isSelf);
    room.screens.set(userId, tile);
    updateCount();
  }
  const video = tile.querySelector("video");
  if (!sameTracks(video.srcObject, [track])) {
    video.srcObject = new MediaStream([track]);
    video.play().catch(() => {});
  }
  applyLayout();
}

function watchFirstFrame(video) {
  if (debug.firstRemoteFrameMs !== null || !video.requestVideoFrameCallback) return;
  video.requestVideoFrameCallback(() => {
    mark("first_frame");
    if (debug.firstRemoteFrameMs === null && room) {
      debug.firstRemoteFrameMs = Math.round(performance.now() - debug.joinStartedAt);
    }
  });
}

// ---------------------------------------------------------------- layout

export function applyLayout() {
  if (!room) return;
  const tiles = [...document.querySelectorAll("#tiles .tile")].map((el) => ({
    key: el.dataset.key, userId: el.dataset.userId, kind: el.dataset.kind, self: el.classList.contains("self"), el,
  }));
  const layout = chooseLayout({ mode: room.layoutMode, pinned: room.pinned, speaker: room.speaker, tiles });
  const box = $("#tiles");
  box.dataset.layout = layout.mode;
  box.style.setProperty("--cols", String(layout.columns));
  for (const t of tiles) {
    const main = t.key === layout.main;
    t.el.classList.toggle("main", main);
    t.el.classList.toggle("pinned", t.key === room.pinned);
    const pin = t.el.querySelector(".pin");
    pin.setAttribute("aria-pressed", String(t.key === room.pinned));
    pin.textContent = t.key === room.pinned ? "Unpin" : "Pin";
    pin.setAttribute("aria-label", `${t.key === room.pinned ? "Unpin" : "Pin"} ${t.el.querySelector(".name").textContent}`);
  }
  const toggle = $("#layout-toggle");
  toggle.textContent = room.layoutMode === GRID ? "Speaker view" : "Grid view";
  toggle.setAttribute("aria-pressed", String(room.layoutMode === SPEAKER));
}

// ---------------------------------------------------------------- mute, camera, hand, speaker, chat

export function sendMediaState() {
  const { audio, video, screen } = room.media;
  signaling?.request("media_state", { room_id: room.id, audio, video, screen }).catch((err) => console.warn(err));
}

function toggleTrack(kind) {
  const track = kind === "audio" ? room?.local?.getAudioTracks()[0] : room?.local?.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  room.media[kind] = track.enabled;
  setTileMedia(room.selfTile, room.media);
  updateControls();
  sendMediaState();
  roomChanged();
}

async function toggleHand() {
  if (!room) return;
  const raised = !room.media.hand;
  try {
    await signaling.request("raise_hand", { room_id: room.id, raised });
  } catch (err) {
    notify(describe(err));
    return;
  }
  room.media.hand = raised;
  room.hands = updateHands(room.hands, room.selfId, raised);
  setTileMedia(room.selfTile, room.media);
  updateControls();
  roomChanged();
}

// Someone else (a host or co-host) set our hand.
export function lowerOwnHand(raised) {
  if (!room || Boolean(raised) === room.media.hand) return;
  room.media.hand = Boolean(raised);
  room.hands = updateHands(room.hands, room.selfId, room.media.hand);
  setTileMedia(room.selfTile, room.media);
  updateControls();
  roomChanged();
  if (!raised) notify("The host lowered your hand.", "info");
}

export function updateControls() {
  const mic = $("#mic-toggle");
  const cam = $("#cam-toggle");
  mic.disabled = !room?.local?.getAudioTracks().length;
  cam.disabled = !room?.local?.getVideoTracks().length;
  mic.textContent = room?.media.audio ? "Mute" : "Unmute";
  cam.textContent = room?.media.video ? "Stop video" : "Start video";
  mic.setAttribute("aria-pressed", String(!room?.media.audio));
  cam.setAttribute("aria-pressed", String(!room?.media.video));
  const hand = $("#hand-toggle");
  hand.textContent = room?.media.hand ? "Lower hand" : "Raise hand";
  hand.setAttribute("aria-pressed", String(Boolean(room?.media.hand)));
  const share = $("#share-toggle");
  share.textContent = room?.media.screen ? "Stop sharing" : "Share screen";
  share.setAttribute("aria-pressed", String(Boolean(room?.media.screen)));
  share.disabled = !navigator.mediaDevices?.getDisplayMedia;
}

export function setActiveSpeaker(userId) {
  if (room) room.speaker = userId;
  for (const tile of document.querySelectorAll(".tile")) {
    tile.classList.toggle("speaking", tile.dataset.kind === "camera" && tile.dataset.userId === userId);
  }
  if (room?.layoutMode === SPEAKER) applyLayout();
}

export function showChat(msg) {
  if (room.chatSeen.has(msg.message_id)) return;
  room.chatSeen.add(msg.message_id);
  const item = document.createElement("li");
  const who = document.createElement("strong");
  const when = document.createElement("time");
  const text = document.createElement("p");
  const mine = msg.from === session.user?.id;
  who.textContent = mine ? "You" : msg.display_name;
  when.dateTime = msg.sent_at;
  when.textContent = new Date(msg.sent_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  text.textContent = msg.text;
  item.append(who, " ", when, text);
  $("#chat-log").append(item);
  item.scrollIntoView({ block: "end" });
  room.unread.message(mine);
  renderUnread();
}

function renderUnread() {
  const unread = $("#chat-unread");
  unread.textContent = room?.unread.badge ?? "";
  unread.hidden = !unread.textContent;
  $("#chat-toggle").setAttribute("aria-label", room?.unread.label ?? "Chat");
}

const PANELS = ["people", "devices", "chat"];
const PHONE = "(max-width: 720px)";

// One side panel at a time on a phone; on a wide screen they sit side by side.
export function togglePanel(name, open) {
  const panel = $(`#${name}`);
  const show = open ?? panel.hidden;
  if (show && window.matchMedia?.(PHONE).matches) {
    for (const other of PANELS) if (other !== name && !$(`#${other}`).hidden) togglePanel(other, false);
  }
  panel.hidden = !show;
  $(`#${name}-toggle`).setAttribute("aria-pressed", String(show));
  if (name === "chat" && room) {
    room.unread.setOpen(show);
    renderUnread();
  }
  if (show) (panel.querySelector("input, select, button") ?? panel).focus();
  return show;
}

// The meeting's buttons and chat form (Leave is wired in app.js: it returns to the lobby).
export function wireRoom() {
  $("#mic-toggle").addEventListener("click", () => toggleTrack("audio"));
  $("#cam-toggle").addEventListener("click", () => toggleTrack("video"));
  $("#hand-toggle").addEventListener("click", toggleHand);
  $("#chat-toggle").addEventListener("click", () => togglePanel("chat"));
  $("#layout-toggle").addEventListener("click", () => {
    if (!room) return;
    room.layoutMode = room.layoutMode === GRID ? SPEAKER : GRID;
    applyLayout();
  });
  for (const name of ["chat", "people", "devices"]) {
    $(`#${name}`).addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        togglePanel(name, false);
        $(`#${name}-toggle`).focus();
      }
    });
  }
  onSubmit("#chat-form", async (d, form) => {
    if (!room || !d.text) return;
    const reply = await signaling.request("chat", { room_id: room.id, text: d.text });
    form.reset();
    showChat({ message_id: reply.message_id, sent_at: reply.sent_at, from: session.user.id,
      display_name: session.user.display_name, text: d.text });
    form.querySelector("input").focus();
  });
}
