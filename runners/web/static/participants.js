// The participants panel's model (no DOM): who is listed in which order, their role's name, and which
// host actions this user may take on each (the server decides; this only hides what it would refuse).

export const ROLE_NAMES = { host: "Host", co_host: "Co-host", participant: "Participant" };
const ROLE_ORDER = { host: 0, co_host: 1, participant: 2 };

// Per member: "kick", "make_cohost", "remove_cohost", "make_host" (docs/signaling.md 12, the meeting rules).
export function memberActions(myRole, me, target) {
  if (!target || target.user_id === me) return [];
  if (myRole === "host") {
    const roleAction = target.role === "co_host" ? "remove_cohost" : "make_cohost";
    return target.role === "host" ? [] : ["make_host", roleAction, "kick"];
  }
  if (myRole === "co_host" && target.role === "participant") return ["kick"];
  return [];
}

// For the whole meeting: lock / unlock for host and co-hosts, end for the host.
export function roomActions(myRole, locked) {
  const out = [];
  if (myRole === "host" || myRole === "co_host") out.push(locked ? "unlock" : "lock");
  if (myRole === "host") out.push("end");
  return out;
}

// Raised hands first (in the order raised), then host, co-hosts, participants, each by name.
export function orderMembers(members, handOrder = []) {
  const raised = new Map(handOrder.map((id, i) => [id, i]));
  return [...members].sort((a, b) => {
    const ha = raised.has(a.user_id) && a.media?.hand ? raised.get(a.user_id) : Infinity;
    const hb = raised.has(b.user_id) && b.media?.hand ? raised.get(b.user_id) : Infinity;
    if (ha !== hb) return ha < hb ? -1 : 1;
    const ra = ROLE_ORDER[a.role] ?? 3;
    const rb = ROLE_ORDER[b.role] ?? 3;
    if (ra !== rb) return ra - rb;
    return a.display_name.localeCompare(b.display_name);
  });
}

// Keeps the order in which hands went up: a lowered hand leaves, a raised one joins at the end.
export function updateHands(order, userId, raised) {
  const without = order.filter((id) => id !== userId);
  return raised ? [...without, userId] : without;
}

// The HTTP call behind each action (api(method, path, body)).
export function actionRequest(meetingId, action, userId) {
  const m = `/meetings/${meetingId}`;
  switch (action) {
    case "kick": return ["POST", `${m}/participants/${userId}/kick`];
    case "make_cohost": return ["POST", `${m}/cohosts/${userId}`];
    case "remove_cohost": return ["DELETE", `${m}/cohosts/${userId}`];
    case "make_host": return ["POST", `${m}/transfer-host`, { user_id: userId }];
    case "lock": return ["POST", `${m}/lock`];
    case "unlock": return ["POST", `${m}/unlock`];
    case "end": return ["POST", `${m}/end`];
    default: throw new Error(`unknown action ${action}`);
  }
}

export const ACTION_LABELS = {
  kick: "Remove", make_cohost: "Make co-host", remove_cohost: "Remove co-host", make_host: "Make host",
  lock: "Lock meeting", unlock: "Unlock meeting", end: "End for all",
};

// Actions that deserve a confirmation (they cannot be undone by the one who takes them).
export const CONFIRM = new Set(["kick", "make_host", "end"]);
