import assert from "node:assert/strict";
import test from "node:test";

import { backoffDelay, Reconnect } from "../../runners/web/static/reconnect.js";

test("the first reconnect is immediate, then 0.5 s doubling to 10 s with jitter of up to half", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 9].map((n) => backoffDelay(n, () => 1)), [0, 500, 1000, 2000, 4000, 8000, 10000, 10000]);
  assert.deepEqual([1, 6].map((n) => backoffDelay(n, () => 0)), [250, 5000]);
});

test("a dropped socket reconnects with backoff and the banner says so until it resumes", () => {
  const r = new Reconnect({ random: () => 1 });
  assert.equal(r.banner, null);
  assert.deepEqual(r.socketClosed(1006), { action: "retry", delay: 0, refresh: false });
  assert.equal(r.banner, "Reconnecting…");
  assert.deepEqual(r.attemptFailed(), { action: "retry", delay: 500, refresh: false });
  assert.equal(r.banner, "Reconnecting… (attempt 2)");
  r.resumed();
  assert.equal(r.state, "connected");
  assert.equal(r.banner, null);
});

test("an expired token is refreshed before each attempt", () => {
  const r = new Reconnect();
  assert.equal(r.socketClosed(4401).refresh, true);
  assert.equal(r.attemptFailed().refresh, true);
});

test("kicked and replaced sockets never reconnect", () => {
  for (const [code, reason] of [[4001, "kicked"], [4002, "replaced"]]) {
    const r = new Reconnect();
    assert.deepEqual(r.socketClosed(code), { action: "stop", reason });
    assert.equal(r.banner, null);
  }
});

test("after the last attempt it gives up", () => {
  const r = new Reconnect({ maxAttempts: 3 });
  r.socketClosed(1006);
  assert.equal(r.attemptFailed().action, "retry");
  assert.equal(r.attemptFailed().action, "retry");
  assert.deepEqual(r.attemptFailed(), { action: "give_up" });
  assert.equal(r.state, "failed");
});

test("media_reset makes a new media connection, shown until the connection is up again", () => {
  const r = new Reconnect();
  assert.deepEqual(r.mediaReset("node_lost"), { action: "new_connection" });
  assert.equal(r.banner, "Reconnecting audio and video…");
  r.mediaState("connecting");
  assert.equal(r.state, "media");
  r.mediaState("connected");
  assert.equal(r.banner, null);
  r.mediaReset("node_drained");
  assert.equal(r.banner, "Moving you to another media server…");
});

test("a network change restarts the media in place while the socket is up, shown until it is connected", () => {
  const r = new Reconnect();
  assert.deepEqual(r.networkChange("disconnected"), { action: "restart" });
  assert.equal(r.banner, "Reconnecting audio and video…");
  r.mediaState("connected");
  assert.equal(r.banner, null);
  r.socketClosed(1006);
  assert.deepEqual(r.networkChange("online"), { action: "ignore" });  // the resume makes a new connection
});

test("a failed media connection is made anew twice in a row at most, and a success resets the count", () => {
  const r = new Reconnect();
  assert.deepEqual(r.mediaState("failed"), { action: "new_connection" });
  assert.equal(r.banner, "Reconnecting audio and video…");
  assert.deepEqual(r.mediaState("failed"), { action: "new_connection" });
  assert.deepEqual(r.mediaState("failed"), { action: "give_up" });
  assert.equal(r.banner, null);
  r.mediaState("connected");
  assert.deepEqual(r.mediaState("failed"), { action: "new_connection" });
  r.socketClosed(1006);
  assert.deepEqual(r.mediaState("failed"), { action: "none" });  // the resume makes a new one anyway
});

test("media_reset while the socket itself reconnects is left to the resume", () => {
  const r = new Reconnect();
  r.socketClosed(1006);
  assert.deepEqual(r.mediaReset("node_lost"), { action: "ignore" });
  assert.equal(r.state, "reconnecting");
});
