import assert from "node:assert/strict";
import test from "node:test";

import { chooseLayout, gridColumns, togglePin } from "../../runners/web/static/layout.js";

const me = { key: "me", userId: "u0", kind: "camera", self: true };
const ann = { key: "ann", userId: "u1", kind: "camera", self: false };
const bob = { key: "bob", userId: "u2", kind: "camera", self: false };
const bobScreen = { key: "bob:screen", userId: "u2", kind: "screen", self: false };
const myScreen = { key: "me:screen", userId: "u0", kind: "screen", self: true };

test("the grid shows every tile with square-ish columns", () => {
  const layout = chooseLayout({ mode: "grid", tiles: [me, ann, bob] });
  assert.deepEqual(layout, { mode: "grid", main: null, why: null, strip: ["me", "ann", "bob"], columns: 2 });
  assert.deepEqual([1, 2, 3, 4, 5, 9, 10].map(gridColumns), [1, 2, 2, 2, 3, 3, 4]);
});

test("the speaker layout puts the active speaker in the main tile and the rest in the strip", () => {
  const layout = chooseLayout({ mode: "speaker", speaker: "u2", tiles: [me, ann, bob] });
  assert.equal(layout.main, "bob");
  assert.equal(layout.why, "speaker");
  assert.deepEqual(layout.strip, ["me", "ann"]);
});

test("the speaker layout never makes you your own main tile while someone else is there", () => {
  assert.equal(chooseLayout({ mode: "speaker", speaker: "u0", tiles: [me, ann] }).main, "ann");
  assert.equal(chooseLayout({ mode: "speaker", speaker: null, tiles: [me] }).mode, "grid");
});

test("a screen share takes the main tile in either mode, someone else's before your own", () => {
  for (const mode of ["grid", "speaker"]) {
    const layout = chooseLayout({ mode, speaker: "u1", tiles: [me, myScreen, ann, bob, bobScreen] });
    assert.equal(layout.main, "bob:screen");
    assert.equal(layout.why, "screen");
  }
  assert.equal(chooseLayout({ tiles: [me, myScreen, ann] }).main, "me:screen");
});

test("a pinned tile beats a screen share and the speaker; a pin of a gone tile is ignored", () => {
  assert.equal(chooseLayout({ mode: "grid", pinned: "ann", tiles: [me, ann, bob, bobScreen] }).main, "ann");
  assert.equal(chooseLayout({ mode: "grid", pinned: "carol", tiles: [me, ann, bob] }).mode, "grid");
});

test("pinning the pinned tile unpins it", () => {
  assert.equal(togglePin(null, "ann"), "ann");
  assert.equal(togglePin("ann", "bob"), "bob");
  assert.equal(togglePin("ann", "ann"), null);
});
