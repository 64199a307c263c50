// Shared page helpers: element lookup, the notice bar, view switching and form handling.

import { REFUSAL_MESSAGES, refusal } from "./refusals.js";

export const $ = (selector) => document.querySelector(selector);

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
  captions_unavailable: "This server makes no live captions.",
  transcript_hidden: "Only the meeting's host, co-hosts and the people who attended see its transcript.",
  ...REFUSAL_MESSAGES,  // refusals to join: one wording for the notice and the lobby (refusals.js)
};

export function describe(err) {
  if (err?.code === "too_many_password_guesses") return refusal(err.code, err.details).message;  // says how long
  return MESSAGES[err?.code] ?? err?.message ?? String(err);
}

let noticeTimer = null;
export function notify(text, kind = "error") {
  const box = $("#notice");
  $("#notice-text").textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (kind === "info") noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

export function clearNotice() {
  $("#notice").hidden = true;
}

export function showView(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  document.body.dataset.view = name;
}

// ---------------------------------------------------------------- forms

// Text fields are trimmed; passwords are taken exactly as typed.
function formData(form) {
  return Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, k === "password" ? String(v) : String(v).trim()]));
}

function busy(form, on) {
  for (const el of form.querySelectorAll("button, input")) el.disabled = on;
}

export function onSubmit(selector, handler) {
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
