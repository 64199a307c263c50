import assert from "node:assert/strict";
import test from "node:test";

import { devicePixels, MAX_SIZES, TileSizes } from "../../runners/web/static/tilesizes.js";

const ANN = "00000000-0000-4000-8000-000000000001";
const BOB = "00000000-0000-4000-8000-000000000002";

// A made-up clock: timers fire only when the test says so.
function reporter() {
  const sent = [];
  const timers = new Map();
  let next = 0;
  const r = new TileSizes({
    send: async (sizes) => { sent.push(sizes); },
    setTimer: (fn) => { timers.set(++next, fn); return next; },
    clearTimer: (h) => timers.delete(h),
  });
  const fire = async () => {
    const due = [...timers.values()];
    timers.clear();
    for (const fn of due) fn();
    await Promise.resolve();
  };
  return { r, sent, timers, fire };
}

test("sizes are device pixels, rounded up to a step", () => {
  assert.deepEqual(devicePixels(320, 180), { width: 320, height: 192 });
  assert.deepEqual(devicePixels(320, 180, 2), { width: 640, height: 368 });
  assert.deepEqual(devicePixels(100000, 1), { width: 16384, height: 16 });
});

test("a burst of resizes is sent once, after it settles, and only when a size changed", async () => {
  const { r, sent, timers, fire } = reporter();
  r.observe(ANN, 300, 170);
  r.observe(ANN, 310, 175);
  r.observe(`${BOB}:screen`, 1280, 720);
  assert.equal(timers.size, 1);  // one pending send: debounced
  assert.deepEqual(sent, []);
  await fire();
  assert.deepEqual(sent, [{ [ANN]: { width: 320, height: 176 }, [`${BOB}:screen`]: { width: 1280, height: 720 } }]);
  r.observe(ANN, 311, 176);  // the same after rounding: nothing scheduled
  assert.equal(timers.size, 0);
  r.observe(ANN, 200, 100);
  r.observe(ANN, 311, 176);  // back to what was sent before it fired
  await fire();
  assert.equal(sent.length, 1);
  assert.equal(r.sends, 1);
});

test("a hidden or removed tile is forgotten; our own tiles are never sent", async () => {
  const { r, sent, fire } = reporter();
  r.observe("self", 640, 360);
  r.observe("self:screen", 640, 360);
  r.observe(ANN, 640, 360);
  r.observe(BOB, 640, 360);
  await fire();
  r.observe(BOB, 0, 0);
  await fire();
  r.forget(ANN);
  await fire();
  assert.deepEqual(sent, [
    { [ANN]: { width: 640, height: 368 }, [BOB]: { width: 640, height: 368 } },
    { [ANN]: { width: 640, height: 368 } },
    {},
  ]);
});

test("at most what the SFU takes, the largest tiles first; resent after a new connection", async () => {
  const { r, sent, fire } = reporter();
  for (let i = 0; i < MAX_SIZES + 6; i += 1) r.observe(`00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, 100 + 16 * i, 100);
  await fire();
  const keys = Object.keys(sent[0]);
  assert.equal(keys.length, MAX_SIZES);
  assert.ok(!keys.includes("00000000-0000-4000-8000-000000000000"));  // the smallest left out
  r.resend();
  await fire();
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1], sent[0]);
});

test("a send that fails is tried again on resend", async () => {
  let calls = 0;
  const r = new TileSizes({
    send: async () => { calls += 1; if (calls === 1) throw new Error("socket closed"); },
    setTimer: () => 1, clearTimer: () => {},
  });
  r.observe(ANN, 640, 360);
  assert.equal(await r.flush(), false);
  assert.equal(await r.flush(), true);  // not marked as sent after the failure
  assert.equal(await r.flush(), false);  // now it was
  assert.equal(calls, 2);
});

// The default timers, with the global setTimeout/clearTimeout made as strict as a browser's: called
// with any `this` but the global object (e.g. as a method of the TileSizes) they throw, as Chrome does.
test("the default timers call the global setTimeout/clearTimeout as plain functions", async () => {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const strict = (real) => function (...args) {
    if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
    return real(...args);
  };
  globalThis.setTimeout = strict(realSet);
  globalThis.clearTimeout = strict(realClear);
  try {
    const sent = [];
    const r = new TileSizes({ send: async (sizes) => { sent.push(sizes); }, debounceMs: 5 });
    r.observe(ANN, 320, 180);
    r.observe(ANN, 640, 360);  // clears the first timer, sets another
    await new Promise((resolve) => realSet(resolve, 60));
    assert.deepEqual(sent, [{ [ANN]: { width: 640, height: 368 } }]);
    r.observe(ANN, 100, 100);
    r.close();
  } finally {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  }
});
