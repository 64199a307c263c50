// The meetings list without the DOM: which query each tab asks, how a meeting reads in a row, which
// actions it offers, and meeting links (/m/<id>). Pure functions: tests/js/meetinglist.test.mjs.

export const TABS = {
  upcoming: { relation: "all", when: "upcoming", label: "Upcoming", empty: "No upcoming meetings: schedule one." },
  past: { relation: "all", when: "past", label: "Past", empty: "No past meetings yet." },
  hosted: { relation: "hosted", when: "all", label: "Hosted by me", empty: "You host no meetings yet." },
  invited: { relation: "invited", when: "all", label: "Invited", empty: "Nobody invited you to a meeting yet." },
};

export const PAGE_SIZE = 50;

export function listPath(tab, offset = 0, limit = PAGE_SIZE) {
  const t = TABS[tab] ?? TABS.upcoming;
  return `/meetings?${new URLSearchParams({ relation: t.relation, when: t.when, limit, offset })}`;
}

const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const PATH_RE = new RegExp(`^/(?:m|meetings)/(${UUID})/?$`);
const ANY_RE = new RegExp(`(?:^|/m/|/meetings/)(${UUID})(?:[/?#]|$)`);

export function meetingLink(origin, meetingId) {
  return `${origin.replace(/\/+$/, "")}/m/${meetingId}`;
}

// The meeting a page address names (/m/<id> or /meetings/<id>, the notifications' links), or null.
export function meetingIdFromPath(pathname) {
  return PATH_RE.exec(pathname ?? "")?.[1]?.toLowerCase() ?? null;
}

// What someone pastes into "Join": a bare meeting id or a whole link; null when it is neither.
export function parseMeetingInput(text) {
  const s = String(text ?? "").trim();
  if (!s) return null;
  let path = s;
  try {
    path = new URL(s).pathname;
  } catch {
    // not a URL: a bare id, or a path
  }
  return (ANY_RE.exec(path)?.[1] ?? null)?.toLowerCase() ?? null;
}

export function formatWhen(meeting, { locale = undefined, timeZone = undefined } = {}) {
  const start = new Date(meeting.start_time);
  const end = new Date(meeting.ends_at ?? start.getTime() + (meeting.duration_minutes ?? 0) * 60000);
  const day = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone });
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone });
  return `${day.format(start)}, ${time.format(start)}–${time.format(end)}`;
}

const STATUS = { scheduled: "Scheduled", live: "Live now", ended: "Ended", cancelled: "Cancelled" };
const ROLE = { host: "You host", co_host: "Co-host", participant: null };

// The short facts under a meeting's title, in reading order.
export function describeMeeting(meeting) {
  return [
    STATUS[meeting.status] ?? meeting.status,
    ROLE[meeting.your_role] ?? null,
    meeting.has_password ? "Password" : null,
    meeting.settings?.invite_only ? "Invite only" : null,
    meeting.locked ? "Locked" : null,
    `Up to ${meeting.capacity} people`,
  ].filter(Boolean);
}

export function isManager(meeting) {
  return meeting.your_role === "host" || meeting.your_role === "co_host";
}

// Which buttons a row shows: the server decides in the end, this only hides what would be refused.
export function actionsFor(meeting) {
  const open = meeting.status === "scheduled" || meeting.status === "live";
  return {
    join: open,
    copyLink: open,
    edit: open && meeting.your_role === "host",
    cancel: meeting.status === "scheduled" && meeting.your_role === "host",
    transcript: meeting.status === "live" || meeting.status === "ended",
  };
}
