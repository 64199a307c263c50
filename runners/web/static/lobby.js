// Logged out and logged in outside a meeting: log in / register, my meetings, create and join.

import { api, forgetSession, session, setTokens } from "./api.js";
import { openTranscript } from "./captions.js";
import { room, teardownRoom } from "./room.js";
import { closeSignaling, signaling } from "./signaling.js";
import { $, clearNotice, describe, notify, onSubmit, showView } from "./ui.js";

// joinMeeting (meeting.js) comes in through wireLobby: meeting.js imports this module to return here.
let join = () => {};

export function loggedIn() {
  $("#who").textContent = session.user.display_name || session.user.username;
  $("#who").hidden = $("#logout").hidden = false;
  showView("lobby");
  loadMeetings();
}

export function endSession() {
  teardownRoom();
  closeSignaling();
  forgetSession();
  $("#who").hidden = $("#logout").hidden = true;
  showView("auth");
}

export async function loadMeetings(highlightId) {
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
  const button = document.createElement("button");
  button.type = "button";
  button.className = "primary join";
  button.textContent = "Join";
  button.disabled = m.status === "ended" || m.status === "cancelled";
  button.addEventListener("click", () => join(m.id));
  const transcript = document.createElement("button");
  transcript.type = "button";
  transcript.className = "link transcript";
  transcript.textContent = "Transcript";
  transcript.hidden = m.status === "scheduled" || m.status === "cancelled";  // never met: nothing was said
  transcript.addEventListener("click", () => openTranscript(m.id, m.title));
  const actions = document.createElement("span");
  actions.className = "actions";
  actions.append(transcript, button);
  const text = document.createElement("div");
  text.append(title, meta, id);
  item.append(text, actions);
  return item;
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

export function wireLobby(joinMeeting) {
  join = joinMeeting;
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
    notify(`We sent a link to ${d.email}: follow it to verify your address.`, "info");
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
    await join(d.meeting_id.toLowerCase());
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
}
