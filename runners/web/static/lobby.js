// Logged out and logged in outside a meeting: log in / register, my meetings (upcoming, past, hosted,
// invited), scheduling, editing, cancelling, copying a meeting's link, and opening a meeting's lobby
// (prejoin.js) from the list, the join form or a /m/<id> address. The rules are in meetinglist.js
// and meetingform.js; this module only reads and writes the page.

import { api, forgetSession, session, setTokens } from "./api.js";
import { openTranscript } from "./captions.js";
import { checkMeetingForm, formValues, SETTINGS } from "./meetingform.js";
import { actionsFor, describeMeeting, formatWhen, listPath, meetingIdFromPath, meetingLink, parseMeetingInput, TABS } from "./meetinglist.js";
import { closePrejoin, openPrejoin, wirePrejoin } from "./prejoin.js";
import { room, teardownRoom } from "./room.js";
import { closeSignaling, signaling } from "./signaling.js";
import { $, clearNotice, describe, notify, onSubmit, showView } from "./ui.js";

// joinMeeting (meeting.js) comes in through wireLobby: meeting.js imports this module to return here.
let join = () => {};
let currentTab = "upcoming";
let editing = null;  // the meeting the edit dialog changes

export function loggedIn() {
  $("#who").textContent = session.user.display_name || session.user.username;
  $("#who").hidden = $("#logout").hidden = false;
  const linked = meetingIdFromPath(location.pathname);
  if (linked) {
    openPrejoin(linked);
    return;
  }
  showView("lobby");
  loadMeetings();
}

export function endSession() {
  teardownRoom();
  closePrejoin();
  closeSignaling();
  forgetSession();
  $("#who").hidden = $("#logout").hidden = true;
  showView("auth");
}

function showList() {
  showView("lobby");
  loadMeetings();
}

// The first page of the selected tab; with `more`, the next page added below what is shown.
export async function loadMeetings(highlightId, { more = false } = {}) {
  if (meetingIdFromPath(location.pathname) && document.body.dataset.view !== "prejoin") history.replaceState(null, "", "/");
  const tab = currentTab;
  const list = $("#meetings");
  const offset = more ? list.children.length : 0;
  let page;
  try {
    page = await api("GET", listPath(tab, offset));
  } catch (err) {
    notify(describe(err));
    return;
  }
  if (tab !== currentTab) return;
  const rows = page.items.map((m) => meetingRow(m, m.id === highlightId));
  if (more) list.append(...rows);
  else list.replaceChildren(...rows);
  $("#meetings-empty").textContent = TABS[tab].empty;
  $("#meetings-empty").hidden = page.total > 0;
  $("#meetings-more").hidden = page.offset + page.items.length >= page.total;
  if (more) rows[0]?.querySelector("button:not([hidden]):not(:disabled)")?.focus();
}

function selectMeetingsTab(tab, { focus = false, highlight = undefined } = {}) {
  currentTab = TABS[tab] ? tab : "upcoming";
  for (const button of document.querySelectorAll("#meeting-tabs [role=tab]")) {
    const on = button.dataset.tab === currentTab;
    button.setAttribute("aria-selected", String(on));
    button.tabIndex = on ? 0 : -1;
    if (on && focus) button.focus();
  }
  $("#meetings-panel").setAttribute("aria-labelledby", `meetings-tab-${currentTab}`);
  return loadMeetings(highlight);
}

function button(text, className, onClick, label) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function meetingRow(m, highlight) {
  const item = document.createElement("li");
  item.dataset.meetingId = m.id;
  item.dataset.status = m.status;
  item.classList.toggle("highlight", highlight);
  const title = document.createElement("strong");
  title.textContent = m.title;
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = formatWhen(m);
  const meta = document.createElement("span");
  meta.className = "hint";
  meta.textContent = describeMeeting(m).join(" · ");
  const id = document.createElement("code");
  id.className = "meeting-id";
  id.textContent = m.id;
  const can = actionsFor(m);
  const actions = document.createElement("span");
  actions.className = "actions";
  const transcript = button("Transcript", "link transcript", () => openTranscript(m.id, m.title), `Transcript of ${m.title}`);
  transcript.hidden = !can.transcript;
  const copy = button("Copy link", "link copy-link", () => copyLink(m), `Copy the link of ${m.title}`);
  copy.hidden = !can.copyLink;
  const edit = button("Edit", "link edit", () => openEdit(m), `Edit ${m.title}`);
  edit.hidden = !can.edit;
  const cancel = button("Cancel", "link danger-link cancel", () => cancelMeeting(m), `Cancel ${m.title}`);
  cancel.hidden = !can.cancel;
  const joinButton = button("Join", "primary join", () => openPrejoin(m.id), `Join ${m.title}`);
  joinButton.hidden = !can.join;
  actions.append(transcript, copy, edit, cancel, joinButton);
  const text = document.createElement("div");
  text.append(title, when, meta, id);
  item.append(text, actions);
  return item;
}

async function copyLink(m) {
  const link = meetingLink(location.origin, m.id);
  try {
    await navigator.clipboard.writeText(link);
    notify(`Link copied: ${link}`, "info");
  } catch {
    notify(`Copy this link: ${link}`, "info");
  }
}

async function cancelMeeting(m) {
  if (!window.confirm(`Cancel “${m.title}”? Everyone invited will be told.`)) return;
  try {
    await api("POST", `/meetings/${m.id}/cancel`);
    notify(`“${m.title}” is cancelled.`, "info");
  } catch (err) {
    notify(describe(err));
  }
  await loadMeetings();
}

// ---------------------------------------------------------------- the schedule and edit forms

function fillFields(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const el = form.elements[name];
    if (!el) continue;
    if (el.type === "checkbox") el.checked = Boolean(value);
    else el.value = value;
  }
  if (values.start_hint) form.elements.start_time.placeholder = values.start_hint;
}

function fieldsOf(form, d) {
  const out = { ...d };
  for (const key of [...SETTINGS, "remove_password"]) out[key] = Boolean(form.elements[key]?.checked);
  return out;
}

function showErrors(form, errors) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const msg of form.querySelectorAll(".field-error")) msg.remove();
  let first = null;
  for (const [name, text] of Object.entries(errors)) {
    const el = form.elements[name];
    if (!el) continue;
    const msg = document.createElement("span");
    msg.className = "field-error";
    msg.id = `${form.id}-${name}-error`;
    msg.textContent = text;
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-describedby", msg.id);
    el.closest("label").append(msg);
    first ??= el;
  }
  // After onSubmit (ui.js) enables the form again: a disabled field cannot take the focus.
  if (first) setTimeout(() => first.focus(), 0);
  return first === null;
}

async function sendInvites(meetingId, invites) {
  const failed = [];
  for (const invite of invites) {
    try {
      await api("POST", `/meetings/${meetingId}/invitations`, invite);
    } catch (err) {
      failed.push(`${invite.username ?? invite.email} (${err.code === "user_not_found" ? "no such user" : describe(err)})`);
    }
  }
  return failed;
}

function invitedText(invites, failed) {
  if (failed.length) return ` Not invited: ${failed.join(", ")}.`;
  return invites.length ? ` Invited: ${invites.map((i) => i.username ?? i.email).join(", ")}.` : "";
}

async function schedule(d, form) {
  const { errors, body, invites } = checkMeetingForm(fieldsOf(form, d));
  if (!showErrors(form, errors)) return;
  const m = await api("POST", "/meetings", body);
  const failed = await sendInvites(m.id, invites);
  form.reset();
  fillFields(form, formValues(null));
  notify(`Meeting “${m.title}” scheduled. Its link: ${meetingLink(location.origin, m.id)}.${invitedText(invites, failed)}`,
    failed.length ? "error" : "info");
  await selectMeetingsTab("upcoming", { highlight: m.id });
}

function openEdit(m) {
  editing = m;
  const form = $("#edit-form");
  form.reset();
  showErrors(form, {});
  fillFields(form, formValues(m));
  $("#edit-title").textContent = `Edit “${m.title}”`;
  $("#edit-form .remove-password").hidden = !m.has_password;
  $("#edit-dialog").showModal();
  form.elements.title.focus();
}

async function saveEdit(d, form) {
  const m = editing;
  const { errors, body, invites } = checkMeetingForm(fieldsOf(form, d), { original: m });
  if (!showErrors(form, errors)) return;
  if (Object.keys(body).length) await api("PUT", `/meetings/${m.id}`, body);
  const failed = await sendInvites(m.id, invites);
  $("#edit-dialog").close();
  notify(`Saved “${body.title ?? m.title}”.${invitedText(invites, failed)}`, failed.length ? "error" : "info");
  await loadMeetings(m.id);
}

// ---------------------------------------------------------------- log in

function selectTab(name) {
  $("#tab-login").setAttribute("aria-selected", String(name === "login"));
  $("#tab-register").setAttribute("aria-selected", String(name === "register"));
  $("#tab-login").tabIndex = name === "login" ? 0 : -1;
  $("#tab-register").tabIndex = name === "register" ? 0 : -1;
  $("#login-panel").hidden = name !== "login";
  $("#register-panel").hidden = name !== "register";
}

async function logIn(username, password) {
  setTokens(await api("POST", "/auth/login", { username, password }, { auth: false }));
  clearNotice();
  loggedIn();
}

// Arrow keys move between tabs (the ARIA tabs pattern); Tab moves on to the panel.
function arrowKeys(tablist, select) {
  tablist.addEventListener("keydown", (ev) => {
    const tabs = [...tablist.querySelectorAll("[role=tab]")];
    const at = tabs.indexOf(document.activeElement);
    if (at < 0) return;
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    select(tabs[(to + tabs.length) % tabs.length]);
  });
}

export function wireLobby(joinMeeting) {
  join = joinMeeting;
  wirePrejoin(join, showList);
  $("#tab-login").addEventListener("click", () => selectTab("login"));
  $("#tab-register").addEventListener("click", () => selectTab("register"));
  arrowKeys($("#auth-tabs"), (tab) => { selectTab(tab.id === "tab-login" ? "login" : "register"); tab.focus(); });
  selectTab("login");
  if (meetingIdFromPath(location.pathname)) $("#auth-meeting-hint").hidden = false;

  for (const tab of document.querySelectorAll("#meeting-tabs [role=tab]")) {
    tab.addEventListener("click", () => selectMeetingsTab(tab.dataset.tab));
  }
  arrowKeys($("#meeting-tabs"), (tab) => selectMeetingsTab(tab.dataset.tab, { focus: true }));
  for (const form of [$("#create-form"), $("#edit-form")]) {
    form.querySelector(".meeting-fields").replaceWith($("#meeting-fields").content.cloneNode(true));
  }
  fillFields($("#create-form"), formValues(null));

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
  onSubmit("#create-form", schedule);
  onSubmit("#edit-form", saveEdit);
  $("#edit-cancel").addEventListener("click", () => $("#edit-dialog").close());
  onSubmit("#join-form", async (d, form) => {
    const meetingId = parseMeetingInput(d.meeting_id);
    if (!showErrors(form, meetingId ? {} : { meeting_id: "Paste a meeting link or ID." })) return;
    form.reset();
    await openPrejoin(meetingId);
  });
  $("#reload-meetings").addEventListener("click", () => loadMeetings());
  $("#meetings-more").addEventListener("click", () => loadMeetings(undefined, { more: true }));

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
