// Why joining a meeting failed, in words, and what the person can do about it. Used for the HTTP
// API's error codes and the signaling join_room error frames alike (docs/signaling.md section 5).

const REFUSALS = {
  meeting_not_found: { message: "There is no meeting with that ID. Check the link.", final: true },
  meeting_hidden: { message: "This meeting is for invited people only. Ask the host to invite you.", final: true },
  invitation_required: { message: "This meeting is for invited people only. Ask the host to invite you.", final: true },
  meeting_full: { message: "This meeting is full. Try again when someone leaves.", final: false },
  meeting_locked: { message: "The host has locked this meeting: nobody else can join now.", final: false },
  kicked_from_meeting: { message: "You were removed from this meeting and cannot rejoin.", final: true },
  meeting_ended: { message: "This meeting has ended.", final: true },
  meeting_cancelled: { message: "This meeting was cancelled.", final: true },
  wrong_meeting_password: { message: "Wrong password, try again.", final: false },
  password_required: { message: "This meeting needs a password.", final: false },
  too_many_rooms: { message: "You are in too many meetings at once: leave one first.", final: false },
  concurrent_modification: { message: "The meeting was busy. Please try again.", final: false },
  unavailable: { message: "The service is temporarily unavailable. Please try again.", final: false },
  network: { message: "Cannot reach the server. Check your connection.", final: false },
};

export const REFUSAL_CODES = Object.freeze(Object.keys(REFUSALS));

function waitText(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 0));
  return s < 90 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`;
}

// {message, final, needsPassword}; null for a code that is no refusal to join.
export function refusal(code, details = {}) {
  if (code === "too_many_password_guesses") {
    const wait = details?.retry_after ? ` Try again in ${waitText(details.retry_after)}.` : " Try again later.";
    return { message: `Too many wrong passwords.${wait}`, final: false, needsPassword: false };
  }
  const known = REFUSALS[code];
  if (!known) return null;
  const needsPassword = code === "password_required" || code === "wrong_meeting_password";
  return { ...known, needsPassword };
}

// A meeting's state as the list or GET /meetings/{id} shows it, before anyone tries to join.
export function refusalForStatus(meeting) {
  if (meeting?.status === "ended") return refusal("meeting_ended");
  if (meeting?.status === "cancelled") return refusal("meeting_cancelled");
  return null;
}

// For the notice bar (ui.js describe): code -> message.
export const REFUSAL_MESSAGES = Object.fromEntries(
  [...REFUSAL_CODES, "too_many_password_guesses"].map((code) => [code, refusal(code).message]));
