import assert from "node:assert/strict";
import { test } from "node:test";

import { constraintsFor, groupDevices, meterPercent, pickDevice, rmsOfBytes, smooth } from "../../runners/web/static/levels.js";

test("devices are grouped per picker, unlabelled ones numbered, aliases kept once", () => {
  const grouped = groupDevices([
    { kind: "audioinput", deviceId: "default", label: "Default" },
    { kind: "audioinput", deviceId: "communications", label: "Comms" },
    { kind: "audioinput", deviceId: "mic2", label: "" },
    { kind: "videoinput", deviceId: "cam1", label: "Front camera" },
    { kind: "videoinput", deviceId: "cam1", label: "Front camera" },
    { kind: "audiooutput", deviceId: "spk", label: "" },
    { kind: "other", deviceId: "x", label: "?" },
  ]);
  assert.deepEqual(grouped, {
    audioinput: [{ id: "default", label: "Default" }, { id: "mic2", label: "Microphone 2" }],
    videoinput: [{ id: "cam1", label: "Front camera" }],
    audiooutput: [{ id: "spk", label: "Speaker 1" }],
  });
});

test("a saved device is chosen again only while it is plugged in", () => {
  const options = [{ id: "a" }, { id: "b" }];
  assert.equal(pickDevice(options, "b"), "b");
  assert.equal(pickDevice(options, "gone"), "a");
  assert.equal(pickDevice([], "b"), "");
});

test("the chosen devices become exact getUserMedia constraints", () => {
  assert.deepEqual(constraintsFor({ audioId: "mic", videoId: "cam" }).audio.deviceId, { exact: "mic" });
  assert.deepEqual(constraintsFor({ audioId: "mic", videoId: "cam" }).video.deviceId, { exact: "cam" });
  assert.equal(constraintsFor({}).audio.deviceId, undefined);
  assert.equal(constraintsFor({ video: false }).video, false);
});

test("the meter reads silence as zero and a full-scale wave as full", () => {
  assert.equal(rmsOfBytes(new Uint8Array(256).fill(128)), 0);
  assert.equal(meterPercent(0), 0);
  const square = Uint8Array.from({ length: 256 }, (_, i) => (i % 2 ? 255 : 1));
  assert.ok(rmsOfBytes(square) > 0.98);
  assert.equal(meterPercent(rmsOfBytes(square)), 100);
  assert.equal(meterPercent(0.001), 0);  // -60 dB: nothing to show
  const half = meterPercent(0.03);  // about -30 dB
  assert.ok(half > 40 && half < 60, String(half));
  assert.equal(rmsOfBytes(new Uint8Array(0)), 0);
});

test("the meter rises at once and falls slowly", () => {
  assert.equal(smooth(10, 80), 80);
  assert.ok(smooth(80, 0) > 50 && smooth(80, 0) < 80);
});
