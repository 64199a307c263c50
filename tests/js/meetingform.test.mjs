import assert from "node:assert/strict";
import { test } from "node:test";

import {
  checkMeetingForm, formValues, fromLocalInput, parseInvitees, toLocalInput,
} from "../../runners/web/static/meetingform.js";

const NOW = new Date("2030-05-01T08:00:00");
const good = (fields = {}) => ({
  title: " Planning ", description: "", start_time: "2030-05-01T09:30", duration_minutes: "45", capacity: "10",
  password: "", invitees: "", mute_on_join: true, invite_only: false, allow_recording: true, allow_analysis: false,
  ...fields,
});

test("a good form becomes the schedule request body", () => {
  const { ok, errors, body, invites } = checkMeetingForm(good({ password: "s3cret" }), { now: NOW });
  assert.deepEqual(errors, {});
  assert.equal(ok, true);
  assert.deepEqual(body, {
    title: "Planning", description: "", duration_minutes: 45, capacity: 10, password: "s3cret",
    start_time: new Date("2030-05-01T09:30").toISOString(),
    settings: { mute_on_join: true, invite_only: false, allow_recording: true, allow_analysis: false },
  });
  assert.deepEqual(invites, []);
});

test("no start time means now: the server's default", () => {
  assert.equal("start_time" in checkMeetingForm(good({ start_time: "" }), { now: NOW }).body, false);
});

test("each rule the server enforces is checked first, with a sentence per field", () => {
  const { ok, errors } = checkMeetingForm(good({
    title: "  ", start_time: "2030-04-30T09:00", duration_minutes: "0", capacity: "1", password: "abc",
    invitees: "bob, not an@address, x",
  }), { now: NOW });
  assert.equal(ok, false);
  assert.deepEqual(Object.keys(errors).sort(), ["capacity", "duration_minutes", "invitees", "password", "start_time", "title"]);
  assert.match(errors.invitees, /an@address, x/);
  assert.equal(checkMeetingForm(good({ title: "x".repeat(201) }), { now: NOW }).errors.title, "Title: at most 200 characters.");
  assert.ok(checkMeetingForm(good({ capacity: "1001" }), { now: NOW }).errors.capacity);
  assert.ok(checkMeetingForm(good({ duration_minutes: "1.5" }), { now: NOW }).errors.duration_minutes);
});

test("invitations are usernames or email addresses, once each", () => {
  assert.deepEqual(parseInvitees("bob carol@example.com;\nBob, dave.d"), {
    invites: [{ username: "bob" }, { email: "carol@example.com" }, { username: "dave.d" }], invalid: [],
  });
  assert.deepEqual(parseInvitees("@nobody ab -x"), { invites: [], invalid: ["@nobody", "ab", "-x"] });
  assert.deepEqual(parseInvitees(""), { invites: [], invalid: [] });
});

test("editing sends only what changed, and can remove the password", () => {
  const original = {
    title: "Planning", description: "", start_time: new Date("2030-05-01T09:30").toISOString(), duration_minutes: 45,
    capacity: 10, has_password: true,
    settings: { mute_on_join: true, invite_only: false, allow_recording: true, allow_analysis: false },
  };
  const same = checkMeetingForm(good(), { now: NOW, original });
  assert.deepEqual(same.body, {});
  const changed = checkMeetingForm(good({ capacity: "20", invite_only: true, remove_password: true }), { now: NOW, original });
  assert.deepEqual(changed.body, { capacity: 20, settings: { invite_only: true }, password: null });
  const past = checkMeetingForm(good({ start_time: "2030-04-01T09:30" }), { now: NOW, original });
  assert.equal(past.errors.start_time, undefined);  // an edit may keep a start that has passed (a live meeting)
});

test("the local date-time input round-trips and the form starts at the next quarter hour", () => {
  const d = new Date("2030-05-01T09:07:00");
  assert.equal(toLocalInput(d), "2030-05-01T09:07");
  assert.equal(fromLocalInput("2030-05-01T09:07").getTime(), d.getTime());
  assert.equal(fromLocalInput("garbage"), null);
  assert.equal(formValues(null, d).start_hint, "2030-05-01T09:15");
  const edited = formValues({ title: "T", start_time: d.toISOString(), duration_minutes: 30, capacity: 5,
    settings: { invite_only: true } });
  assert.equal(edited.start_time, "2030-05-01T09:07");
  assert.equal(edited.invite_only, true);
  assert.equal(edited.mute_on_join, false);
});
