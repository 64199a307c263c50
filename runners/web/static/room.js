// The meeting view and its state: the current Room, member tiles and their streams, the mute and
// camera buttons, the active speaker, chat.

import { session } from "./api.js";
import { debug } from "./debug.js";
import { signaling } from "./signaling.js";
import { $, describe, notify, onSubmit } from "./ui.js";

export const DEFAULT_SFU_PEER_ID = "00000000-0000-4000-8000-00000000f00d";

export class Room {
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

// The meeting this page is in, or null.
export let room = null;

export function beginRoom(id) {
  teardownRoom();
  room = new Room(id);
  return room;
}

export function teardownRoom() {
  if (!room) return;
  room.pc?.close();
  room.local?.getTracks().forEach((t) => t.stop());
  room = null;
  $("#tiles").replaceChildren();
  delete document.body.dataset.media;
}

// ---------------------------------------------------------------- tiles

export function tileFor(member, isSelf) {
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

export function setTileMedia(tile, media) {
  tile.dataset.audio = media.audio ? "on" : "off";
  tile.dataset.video = media.video ? "on" : "off";
}

export function upsertMember(member) {
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

export function removeMember(userId) {
  const known = room.members.get(userId);
  if (!known) return;
  known.tile.remove();
  room.members.delete(userId);
  room.streams.delete(userId);
  updateCount();
}

export function updateCount() {
  const n = room.members.size + 1;
  room.status(n === 1 ? "Only you are here" : `${n} people`);
  $("#tiles").dataset.count = String(Math.min(n, 9));
}

export function attachStream(userId) {
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

// ---------------------------------------------------------------- mute, camera, speaker, chat

export function sendMediaState() {
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

export function updateControls() {
  const mic = $("#mic-toggle");
  const cam = $("#cam-toggle");
  mic.disabled = !room?.local?.getAudioTracks().length;
  cam.disabled = !room?.local?.getVideoTracks().length;
  mic.textContent = room?.media.audio ? "Mute" : "Unmute";
  cam.textContent = room?.media.video ? "Stop video" : "Start video";
  mic.setAttribute("aria-pressed", String(!room?.media.audio));
  cam.setAttribute("aria-pressed", String(!room?.media.video));
}

export function setActiveSpeaker(userId) {
  for (const tile of document.querySelectorAll(".tile")) {
    tile.classList.toggle("speaking", tile.dataset.userId === userId);
  }
}

export function showChat(msg) {
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

// The meeting's buttons and chat form (Leave is wired in app.js: it returns to the lobby).
export function wireRoom() {
  $("#mic-toggle").addEventListener("click", () => toggleTrack("audio"));
  $("#cam-toggle").addEventListener("click", () => toggleTrack("video"));
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
}
