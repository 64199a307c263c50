// The notification bell (unread count and list), the notification settings page and Web Push opt-in.
// The list is fetched when the bell opens, every POLL_MS while signed in, and at once when a
// `notification` frame arrives on an open signaling socket (docs/signaling.md).

import { api, session } from "./api.js";
import { $, describe, notify, onSubmit, showView } from "./ui.js";

const POLL_MS = 30000;
const KINDS = {
  meeting_invitation: "Invitations", meeting_changed: "Meeting changes", meeting_cancelled: "Cancellations",
  meeting_reminder: "Reminders", recording_ready: "Recordings ready", transcript_ready: "Transcripts ready",
  removed_from_meeting: "Removed from a meeting", role_changed: "Role changes", password_changed: "Password changed",
  new_sign_in: "New sign-ins", account_banned: "Account suspended",
};
const CHANNELS = ["email", "push", "sms", "in_app"];
const ALWAYS_EMAIL = new Set(["password_changed", "new_sign_in", "account_banned"]);
let timer = null;
let shown = false;

export function wireNotifications() {
  $("#bell").addEventListener("click", toggle);
  $("#bell-read-all").addEventListener("click", () => act(api("POST", "/notifications/read-all")));
  $("#bell-settings").addEventListener("click", openSettings);
  $("#prefs-back").addEventListener("click", () => showView("lobby"));
  $("#prefs-form").addEventListener("submit", saveSettings);
  $("#push-optin").addEventListener("click", optIn);
  // Inviting is a meeting action; it lives here because what it sets off is an email (and a bell entry).
  onSubmit("#invite-form", async (d, form) => {
    await api("POST", `/meetings/${d.meeting_id.toLowerCase()}/invitations`, { email: d.email.trim() });
    form.reset();
    notify(`Invitation sent to ${d.email.trim()}.`, "info");
  });
  $("#bell-list").addEventListener("click", (ev) => {
    const item = ev.target.closest("li[data-id]");
    if (item && item.dataset.read === "false") act(api("POST", `/notifications/${item.dataset.id}/read`));
  });
  window.addEventListener("confero:notification", (ev) => {
    // The bell always counts it; the shared notice line shows it only when it says nothing else, so a
    // late notification never hides why the page just changed (a meeting ended, a refusal).
    if ($("#notice").hidden) notify(ev.detail.title, "info");
    refresh();
  });
  timer = setInterval(refresh, POLL_MS);
  // The session starts and ends elsewhere (lobby.js): follow it rather than be told.
  setInterval(() => { $("#bell-wrap").hidden = !session.access; }, 1000);
  setTimeout(refresh, 1500);
}

async function act(promise) {
  try {
    await promise;
  } catch (err) {
    notify(describe(err));
  }
  await refresh();
}

export async function refresh() {
  if (!session.access) return;
  let page;
  try {
    page = await api("GET", "/notifications?limit=20");
  } catch {
    return;  // the next poll tries again
  }
  $("#bell-wrap").hidden = false;
  const count = $("#bell-count");
  count.textContent = page.unread > 99 ? "99+" : String(page.unread);
  count.hidden = page.unread === 0;
  const list = $("#bell-list");
  list.replaceChildren(...page.items.map(render));
  $("#bell-empty").hidden = page.items.length > 0;
}

function render(n) {
  const li = document.createElement("li");
  li.dataset.id = n.id;
  li.dataset.read = String(n.read_at !== null);
  const title = document.createElement("strong");
  title.textContent = n.title;
  const when = document.createElement("span");
  when.className = "hint";
  when.textContent = new Date(n.created_at).toLocaleString();
  li.append(title, document.createElement("br"), when);
  return li;
}

function toggle() {
  shown = !shown;
  $("#bell-panel").hidden = !shown;
  $("#bell").setAttribute("aria-expanded", String(shown));
  if (shown) refresh();
}

async function openSettings() {
  shown = false;
  $("#bell-panel").hidden = true;
  let prefs;
  try {
    prefs = await api("GET", "/notifications/preferences");
  } catch (err) {
    notify(describe(err));
    return;
  }
  const rows = Object.entries(KINDS).map(([kind, label]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = label;
    tr.append(th);
    for (const channel of CHANNELS) {
      const td = document.createElement("td");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = `${kind}:${channel}`;
      box.checked = prefs.channels[kind].includes(channel);
      box.disabled = channel === "email" && ALWAYS_EMAIL.has(kind);
      td.append(box);
      tr.append(td);
    }
    return tr;
  });
  $("#prefs-kinds").replaceChildren(...rows);
  const form = $("#prefs-form");
  form.reminder_minutes.value = prefs.reminder_minutes;
  form.quiet_start.value = prefs.quiet_hours?.start ?? "";
  form.quiet_end.value = prefs.quiet_hours?.end ?? "";
  form.timezone.value = prefs.timezone;
  form.phone.value = prefs.phone ?? "";
  await showPushState();
  showView("notifications");
}

async function saveSettings(ev) {
  ev.preventDefault();
  const form = ev.target;
  const channels = {};
  for (const kind of Object.keys(KINDS)) {
    channels[kind] = CHANNELS.filter((c) => form[`${kind}:${c}`].checked);
  }
  const quiet = form.quiet_start.value && form.quiet_end.value
    ? { start: form.quiet_start.value, end: form.quiet_end.value } : null;
  try {
    await api("PUT", "/notifications/preferences", {
      channels, quiet_hours: quiet, timezone: form.timezone.value.trim(),
      reminder_minutes: Number(form.reminder_minutes.value), phone: form.phone.value.trim() || null,
    });
    notify("Notification settings saved.", "info");
  } catch (err) {
    notify(describe(err));
  }
}

// -------------------------------------------------------------------------------- Web Push

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window;
}

async function showPushState() {
  const state = $("#push-state");
  const button = $("#push-optin");
  if (!pushSupported()) {
    state.textContent = "This browser cannot receive push notifications.";
    button.hidden = true;
    return;
  }
  const { public_key: key } = await api("GET", "/notifications/push-key").catch(() => ({ public_key: null }));
  button.hidden = !key;
  state.textContent = key ? `Browser notifications: ${Notification.permission}.`
    : "This server does not send browser notifications.";
}

function keyBytes(base64url) {
  const raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function optIn() {
  try {
    const { public_key: key } = await api("GET", "/notifications/push-key");
    const registration = await navigator.serviceWorker.register("/static/sw.js", { scope: "/static/" });
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: keyBytes(key),
    });
    await api("POST", "/notifications/push-subscriptions", subscription.toJSON());
    notify("Browser notifications are on.", "info");
  } catch (err) {
    notify(err instanceof DOMException ? `Browser notifications were not enabled: ${err.message}` : describe(err));
  }
  await showPushState();
}

export function stopNotifications() {
  clearInterval(timer);
}
