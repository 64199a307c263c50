import assert from "node:assert/strict";
import { test } from "node:test";

import {
  actionsFor, describeMeeting, formatWhen, listPath, meetingIdFromPath, meetingLink, parseMeetingInput, TABS,
} from "../../runners/web/static/meetinglist.js";

const ID = "0b6c1d2e-3f40-4a5b-8c7d-9e0f1a2b3c4d";
const meeting = (fields = {}) => ({
  id: ID, title: "Standup", status: "scheduled", your_role: "host", has_password: false, capacity: 100,
  settings: { invite_only: false }, locked: false, start_time: "2030-05-01T09:30:00Z", ends_at: "2030-05-01T10:00:00Z",
  duration_minutes: 30, ...fields,
});

test("each tab asks the server for its relation and time span", () => {
  assert.equal(listPath("upcoming"), "/meetings?relation=all&when=upcoming&limit=50&offset=0");
  assert.equal(listPath("past", 50), "/meetings?relation=all&when=past&limit=50&offset=50");
  assert.equal(listPath("hosted"), "/meetings?relation=hosted&when=all&limit=50&offset=0");
  assert.equal(listPath("invited"), "/meetings?relation=invited&when=all&limit=50&offset=0");
  assert.equal(listPath("nonsense"), listPath("upcoming"));
  assert.deepEqual(Object.keys(TABS), ["upcoming", "past", "hosted", "invited"]);
});

test("a meeting link is the short /m/ path and reads back to its id", () => {
  assert.equal(meetingLink("https://meet.example.com/", ID), `https://meet.example.com/m/${ID}`);
  assert.equal(meetingIdFromPath(`/m/${ID}`), ID);
  assert.equal(meetingIdFromPath(`/meetings/${ID.toUpperCase()}`), ID);
  assert.equal(meetingIdFromPath("/"), null);
  assert.equal(meetingIdFromPath(`/m/${ID}/extra`), null);
  assert.equal(meetingIdFromPath("/m/not-an-id"), null);
});

test("join accepts a bare id or a pasted link and nothing else", () => {
  assert.equal(parseMeetingInput(`  ${ID.toUpperCase()} `), ID);
  assert.equal(parseMeetingInput(`https://meet.example.com/m/${ID}`), ID);
  assert.equal(parseMeetingInput(`http://127.0.0.1:8800/meetings/${ID}?x=1`), ID);
  assert.equal(parseMeetingInput(`/m/${ID}`), ID);
  assert.equal(parseMeetingInput("hello"), null);
  assert.equal(parseMeetingInput(""), null);
  assert.equal(parseMeetingInput(`${ID}0`), null);
});

test("a row says status, role, password, invite only, lock and capacity", () => {
  assert.deepEqual(describeMeeting(meeting({ has_password: true, settings: { invite_only: true }, locked: true })),
    ["Scheduled", "You host", "Password", "Invite only", "Locked", "Up to 100 people"]);
  assert.deepEqual(describeMeeting(meeting({ status: "live", your_role: "participant", capacity: 5 })),
    ["Live now", "Up to 5 people"]);
});

test("the time span is the start's day and both ends' times", () => {
  const text = formatWhen(meeting(), { locale: "en-GB", timeZone: "UTC" });
  assert.match(text, /1 May 2030/);
  assert.match(text, /09:30–10:00$/);
  assert.match(formatWhen(meeting({ ends_at: undefined, duration_minutes: 90 }), { locale: "en-GB", timeZone: "UTC" }),
    /09:30–11:00$/);
});

test("only the host edits and cancels, only open meetings are joined", () => {
  assert.deepEqual(actionsFor(meeting()), { join: true, copyLink: true, edit: true, cancel: true, transcript: false });
  assert.deepEqual(actionsFor(meeting({ your_role: "participant", status: "live" })),
    { join: true, copyLink: true, edit: false, cancel: false, transcript: true });
  assert.equal(actionsFor(meeting({ status: "live" })).cancel, false);  // live: end it, do not cancel
  for (const status of ["ended", "cancelled"]) {
    const a = actionsFor(meeting({ status }));
    assert.equal(a.join || a.edit || a.cancel || a.copyLink, false, status);
  }
});
