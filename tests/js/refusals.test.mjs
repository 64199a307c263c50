import assert from "node:assert/strict";
import { test } from "node:test";

import { REFUSAL_MESSAGES, refusal, refusalForStatus } from "../../runners/web/static/refusals.js";

// Every refusal of join_room in docs/signaling.md section 5 that a person can meet.
const JOIN_REFUSALS = [
  "meeting_not_found", "meeting_ended", "meeting_cancelled", "meeting_full", "meeting_locked", "invitation_required",
  "password_required", "wrong_meeting_password", "too_many_password_guesses", "kicked_from_meeting",
  "concurrent_modification", "unavailable", "too_many_rooms",
];

test("every join refusal has its own clear message", () => {
  for (const code of JOIN_REFUSALS) {
    const r = refusal(code, { retry_after: 30 });
    assert.ok(r, code);
    assert.ok(r.message.length > 10 && r.message.endsWith("."), `${code}: ${r.message}`);
    assert.equal(REFUSAL_MESSAGES[code], refusal(code).message, code);
  }
  const distinct = new Set(["meeting_full", "meeting_locked", "invitation_required", "kicked_from_meeting",
    "meeting_ended"].map((c) => refusal(c).message));
  assert.equal(distinct.size, 5);
});

test("final refusals say so; a full or locked meeting may open later", () => {
  for (const code of ["kicked_from_meeting", "meeting_ended", "meeting_cancelled", "invitation_required"]) {
    assert.equal(refusal(code).final, true, code);
  }
  for (const code of ["meeting_full", "meeting_locked", "unavailable"]) assert.equal(refusal(code).final, false, code);
});

test("password refusals ask for the password again, guessing too often says how long to wait", () => {
  assert.equal(refusal("password_required").needsPassword, true);
  assert.equal(refusal("wrong_meeting_password").needsPassword, true);
  assert.equal(refusal("too_many_password_guesses", { retry_after: 42.2 }).message,
    "Too many wrong passwords. Try again in 43 seconds.");
  assert.match(refusal("too_many_password_guesses", { retry_after: 600 }).message, /10 minutes/);
  assert.match(refusal("too_many_password_guesses").message, /later/);
});

test("codes that are no refusal to join are left to the caller", () => {
  assert.equal(refusal("invalid_credentials"), null);
  assert.equal(refusal(undefined), null);
});

test("an ended or cancelled meeting is refused before anyone asks the server", () => {
  assert.equal(refusalForStatus({ status: "ended" }).message, refusal("meeting_ended").message);
  assert.equal(refusalForStatus({ status: "cancelled" }).message, refusal("meeting_cancelled").message);
  assert.equal(refusalForStatus({ status: "live" }), null);
  assert.equal(refusalForStatus(null), null);
});
