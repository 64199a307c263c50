// The schedule / edit form without the DOM: checks what was typed against the server's rules
// (domain/meetings/rules.py) and turns it into the request body; reads invitations.
// Pure functions: tests/js/meetingform.test.mjs.

export const LIMITS = {
  title: [1, 200], description: [0, 2000], duration: [1, 1440], capacity: [2, 1000], password: [4, 64],
};
export const SETTINGS = ["mute_on_join", "invite_only", "allow_recording", "allow_analysis"];
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;  // domain/users/model.py

const pad = (n) => String(n).padStart(2, "0");

// <input type="datetime-local"> speaks local time without a zone: "2030-05-01T09:30".
export function toLocalInput(date) {
  const d = new Date(date);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);  // a zone-less date-time string is local time
  return Number.isNaN(d.getTime()) ? null : d;
}

// "bob, carol@example.com\n dave" -> invitations by username or email, and what is neither.
export function parseInvitees(text) {
  const invites = [];
  const invalid = [];
  const seen = new Set();
  for (const raw of String(text ?? "").split(/[\s,;]+/)) {
    const item = raw.trim();
    if (!item || seen.has(item.toLowerCase())) continue;
    seen.add(item.toLowerCase());
    if (item.includes("@")) (EMAIL_RE.test(item) && item.length <= 254 ? invites.push({ email: item }) : invalid.push(item));
    else (USERNAME_RE.test(item) ? invites.push({ username: item }) : invalid.push(item));
  }
  return { invites, invalid };
}

function intIn(value, [min, max]) {
  const n = Number(value);
  return Number.isInteger(n) && n >= min && n <= max ? n : null;
}

// fields: the form's values as strings (settings as booleans). Returns {errors, body, invites}:
// errors maps a field name to a sentence; body is the POST (or, with `original`, the PUT) body.
export function checkMeetingForm(fields, { now = new Date(), original = null } = {}) {
  const errors = {};
  const title = String(fields.title ?? "").trim();
  if (title.length < LIMITS.title[0] || title.length > LIMITS.title[1]) {
    errors.title = title ? `Title: at most ${LIMITS.title[1]} characters.` : "Give the meeting a title.";
  }
  const description = String(fields.description ?? "").trim();
  if (description.length > LIMITS.description[1]) errors.description = `Description: at most ${LIMITS.description[1]} characters.`;
  let start = null;
  if (fields.start_time) {
    start = fromLocalInput(fields.start_time);
    if (!start) errors.start_time = "Start: not a date and time.";
    else if (!original && start.getTime() < now.getTime() - 5 * 60000) errors.start_time = "Start: pick a time from now on.";
  }
  const duration = intIn(fields.duration_minutes, LIMITS.duration);
  if (duration === null) errors.duration_minutes = `Duration: ${LIMITS.duration[0]}-${LIMITS.duration[1]} minutes.`;
  const capacity = intIn(fields.capacity, LIMITS.capacity);
  if (capacity === null) errors.capacity = `Capacity: ${LIMITS.capacity[0]}-${LIMITS.capacity[1]} people.`;
  const password = String(fields.password ?? "");
  if (password && (password.length < LIMITS.password[0] || password.length > LIMITS.password[1])) {
    errors.password = `Password: ${LIMITS.password[0]}-${LIMITS.password[1]} characters.`;
  }
  const { invites, invalid } = parseInvitees(fields.invitees);
  if (invalid.length) errors.invitees = `Not a username or an email address: ${invalid.join(", ")}.`;

  const settings = Object.fromEntries(SETTINGS.map((k) => [k, Boolean(fields[k])]));
  const full = { title, description, duration_minutes: duration, capacity, settings };
  if (start) full.start_time = start.toISOString();
  if (password) full.password = password;
  const body = original ? changes(original, full, Boolean(fields.remove_password)) : full;
  return { errors, body, invites, ok: Object.keys(errors).length === 0 };
}

// A PUT carries only what changed (the server refuses an empty one: nothing to send then).
function changes(original, full, removePassword) {
  const out = {};
  for (const key of ["title", "description", "duration_minutes", "capacity"]) {
    if (full[key] !== original[key]) out[key] = full[key];
  }
  if (full.start_time && new Date(full.start_time).getTime() !== new Date(original.start_time).getTime()) {
    out.start_time = full.start_time;
  }
  const settings = {};
  for (const key of SETTINGS) if (full.settings[key] !== Boolean(original.settings?.[key])) settings[key] = full.settings[key];
  if (Object.keys(settings).length) out.settings = settings;
  if (full.password) out.password = full.password;
  else if (removePassword && original.has_password) out.password = null;
  return out;
}

// The form's starting values: a meeting being edited, or a new one starting at the next quarter hour.
export function formValues(meeting, now = new Date()) {
  if (meeting) {
    return {
      title: meeting.title, description: meeting.description ?? "", start_time: toLocalInput(meeting.start_time),
      duration_minutes: String(meeting.duration_minutes), capacity: String(meeting.capacity), password: "",
      ...Object.fromEntries(SETTINGS.map((k) => [k, Boolean(meeting.settings?.[k])])),
    };
  }
  const start = new Date(now);
  start.setSeconds(0, 0);
  start.setMinutes(Math.ceil(start.getMinutes() / 15) * 15);
  return {
    title: "", description: "", start_time: "", start_hint: toLocalInput(start), duration_minutes: "60",
    capacity: "100", password: "", mute_on_join: false, invite_only: false, allow_recording: true, allow_analysis: false,
  };
}
