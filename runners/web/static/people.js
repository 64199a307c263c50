// The participants panel: everyone in the meeting with their role, microphone, camera and raised
// hand, and the host controls this user may use (remove, make co-host, make host, lock / unlock, end
// for all). The rules are in participants.js; the server has the last word on each action.

import { api } from "./api.js";
import {
  ACTION_LABELS, actionRequest, CONFIRM, memberActions, orderMembers, ROLE_NAMES, roomActions,
} from "./participants.js";
import { onRoomChange, room, togglePanel } from "./room.js";
import { $, describe, notify } from "./ui.js";

const CONFIRM_TEXT = {
  kick: (name) => `Remove ${name} from the meeting? They cannot come back.`,
  make_host: (name) => `Make ${name} the host? You become a co-host.`,
  end: () => "End the meeting for everyone?",
};

function confirmAction(text) {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

async function act(action, target) {
  const r = room;
  if (!r) return;
  if (CONFIRM.has(action) && !(await confirmAction(CONFIRM_TEXT[action](target?.display_name)))) return;
  const [method, path, body] = actionRequest(r.id, action, target?.user_id);
  try {
    await api(method, path, body);
  } catch (err) {
    notify(describe(err));
  }
}

function personItem(r, member, isSelf) {
  const li = document.createElement("li");
  li.dataset.userId = member.user_id;
  li.dataset.role = member.role;
  const who = document.createElement("div");
  who.className = "who";
  const name = document.createElement("strong");
  name.textContent = isSelf ? `${member.display_name} (you)` : member.display_name;
  const state = document.createElement("span");
  state.className = "state";
  const media = member.media ?? {};
  state.textContent = [ROLE_NAMES[member.role] ?? member.role, media.audio ? null : "muted",
    media.video ? null : "camera off", media.screen ? "sharing screen" : null,
    media.hand ? "hand raised" : null].filter(Boolean).join(" · ");
  if (media.hand) {
    const hand = document.createElement("span");
    hand.className = "hand";
    hand.setAttribute("aria-hidden", "true");
    hand.textContent = "Hand";
    who.append(hand);
  }
  who.append(name, state);
  li.append(who);
  const actions = memberActions(r.role, r.selfId, member);
  if (actions.length) {
    const box = document.createElement("span");
    box.className = "actions";
    for (const action of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `link action-${action}`;
      button.dataset.action = action;
      button.textContent = ACTION_LABELS[action];
      button.setAttribute("aria-label", `${ACTION_LABELS[action]}: ${member.display_name}`);
      button.addEventListener("click", () => act(action, member));
      box.append(button);
    }
    li.append(box);
  }
  return li;
}

export function renderPeople(r = room) {
  if (!r) return;
  const self = { user_id: r.selfId, display_name: r.selfName ?? "You", role: r.role, media: r.media };
  const everyone = orderMembers([self, ...[...r.members.values()].map((k) => k.member)], r.hands);
  $("#people-list").replaceChildren(...everyone.map((m) => personItem(r, m, m.user_id === r.selfId)));
  $("#people-count").textContent = `(${everyone.length})`;
  const hands = everyone.filter((m) => m.media?.hand).length;
  $("#people-toggle").textContent = hands ? `People (${hands} ${hands === 1 ? "hand" : "hands"})` : "People";
  $("#people-toggle").setAttribute("aria-label", hands ? `People, ${hands} raised ${hands === 1 ? "hand" : "hands"}` : "People");
  const actions = roomActions(r.role, r.locked).map((action) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = action === "end" ? "danger" : "";
    button.id = `room-${action}`;
    button.textContent = ACTION_LABELS[action];
    button.addEventListener("click", () => act(action));
    return button;
  });
  $("#room-actions").replaceChildren(...actions);
  $("#meeting-title").classList.toggle("locked", r.locked);
}

export function wirePeople() {
  $("#people-toggle").addEventListener("click", () => togglePanel("people"));
  onRoomChange(renderPeople);
}
