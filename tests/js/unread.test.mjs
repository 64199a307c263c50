import assert from "node:assert/strict";
import test from "node:test";

import { UnreadCounter } from "../../runners/web/static/unread.js";

test("messages from others count while the chat is closed, and opening it clears them", () => {
  const unread = new UnreadCounter();
  assert.equal(unread.badge, "");
  assert.equal(unread.message(false), true);
  assert.equal(unread.message(false), true);
  assert.equal(unread.badge, "2");
  assert.equal(unread.label, "Chat, 2 unread");
  unread.setOpen(true);
  assert.equal(unread.count, 0);
  assert.equal(unread.message(false), false);
  unread.setOpen(false);
  assert.equal(unread.badge, "");
});

test("your own messages never count, and the badge stops at 99+", () => {
  const unread = new UnreadCounter();
  assert.equal(unread.message(true), false);
  for (let i = 0; i < 120; i += 1) unread.message(false);
  assert.equal(unread.badge, "99+");
  assert.equal(unread.count, 120);
});
