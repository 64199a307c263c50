import assert from "node:assert/strict";
import test from "node:test";

import {
  actionRequest, memberActions, orderMembers, roomActions, updateHands,
} from "../../runners/web/static/participants.js";

const host = { user_id: "h", role: "host", display_name: "Hana" };
const co = { user_id: "c", role: "co_host", display_name: "Cleo" };
const pat = { user_id: "p", role: "participant", display_name: "Pat" };

test("the host may make anyone else host or co-host, demote a co-host and remove anyone", () => {
  assert.deepEqual(memberActions("host", "h", pat), ["make_host", "make_cohost", "kick"]);
  assert.deepEqual(memberActions("host", "h", co), ["make_host", "remove_cohost", "kick"]);
  assert.deepEqual(memberActions("host", "h", host), []);
});

test("a co-host may only remove participants; participants may do nothing to anyone", () => {
  assert.deepEqual(memberActions("co_host", "c", pat), ["kick"]);
  assert.deepEqual(memberActions("co_host", "c", host), []);
  assert.deepEqual(memberActions("co_host", "c", { ...co, user_id: "c2" }), []);
  for (const target of [host, co]) assert.deepEqual(memberActions("participant", "p", target), []);
});

test("nobody acts on themselves", () => {
  assert.deepEqual(memberActions("host", "h", { ...pat, user_id: "h" }), []);
});

test("host and co-hosts lock and unlock; only the host ends the meeting for all", () => {
  assert.deepEqual(roomActions("host", false), ["lock", "end"]);
  assert.deepEqual(roomActions("co_host", true), ["unlock"]);
  assert.deepEqual(roomActions("participant", false), []);
});

test("raised hands come first in the order raised, then roles, then names", () => {
  const zed = { user_id: "z", role: "participant", display_name: "Zed", media: { hand: true } };
  const amy = { user_id: "a", role: "participant", display_name: "Amy", media: { hand: true } };
  const bea = { user_id: "b", role: "participant", display_name: "Bea", media: { hand: false } };
  const hands = updateHands(updateHands([], "z", true), "a", true);
  assert.deepEqual(orderMembers([bea, amy, pat, co, zed, host], hands).map((m) => m.display_name),
    ["Zed", "Amy", "Hana", "Cleo", "Bea", "Pat"]);
  assert.deepEqual(updateHands(hands, "z", false), ["a"]);
  assert.deepEqual(updateHands(["a", "z"], "a", true), ["z", "a"]);
});

test("each action is one HTTP call of the meetings API", () => {
  assert.deepEqual(actionRequest("m", "kick", "p"), ["POST", "/meetings/m/participants/p/kick"]);
  assert.deepEqual(actionRequest("m", "make_cohost", "p"), ["POST", "/meetings/m/cohosts/p"]);
  assert.deepEqual(actionRequest("m", "remove_cohost", "p"), ["DELETE", "/meetings/m/cohosts/p"]);
  assert.deepEqual(actionRequest("m", "make_host", "p"), ["POST", "/meetings/m/transfer-host", { user_id: "p" }]);
  assert.deepEqual(actionRequest("m", "lock"), ["POST", "/meetings/m/lock"]);
  assert.deepEqual(actionRequest("m", "unlock"), ["POST", "/meetings/m/unlock"]);
  assert.deepEqual(actionRequest("m", "end"), ["POST", "/meetings/m/end"]);
  assert.throws(() => actionRequest("m", "explode"));
});
