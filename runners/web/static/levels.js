// Devices and the microphone level meter without the DOM: device lists for the pickers, the
// getUserMedia constraints for a choice, and a level from audio samples.
// Pure functions: tests/js/levels.test.mjs.

const KINDS = { audioinput: "Microphone", videoinput: "Camera", audiooutput: "Speaker" };

// enumerateDevices() -> {audioinput: [{id, label}], videoinput: [...], audiooutput: [...]}; devices
// without a label (no permission yet) are numbered; the "default"/"communications" aliases are kept once.
export function groupDevices(devices) {
  const out = { audioinput: [], videoinput: [], audiooutput: [] };
  for (const d of devices ?? []) {
    const list = out[d.kind];
    if (!list || list.some((x) => x.id === d.deviceId)) continue;
    if (d.deviceId === "communications") continue;
    list.push({ id: d.deviceId, label: d.label || `${KINDS[d.kind]} ${list.length + 1}` });
  }
  return out;
}

// The saved choice when it is still plugged in, else the first device (or "" for none).
export function pickDevice(options, saved) {
  if (saved && options.some((o) => o.id === saved)) return saved;
  return options[0]?.id ?? "";
}

export function constraintsFor({ audioId = "", videoId = "", video = true } = {}) {
  const audio = { echoCancellation: true, noiseSuppression: true };
  if (audioId) audio.deviceId = { exact: audioId };
  if (!video) return { audio, video: false };
  const v = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };
  if (videoId) v.deviceId = { exact: videoId };
  return { audio, video: v };
}

// Root mean square of AnalyserNode.getByteTimeDomainData() samples (128 = silence), 0..1.
export function rmsOfBytes(bytes) {
  if (!bytes?.length) return 0;
  let sum = 0;
  for (const b of bytes) {
    const x = (b - 128) / 128;
    sum += x * x;
  }
  return Math.sqrt(sum / bytes.length);
}

// A level for people: decibels from -60 (nothing) to 0 (full scale) onto 0..100.
export function meterPercent(rms) {
  if (!(rms > 0)) return 0;
  const db = 20 * Math.log10(Math.min(1, rms));
  return Math.round(Math.max(0, Math.min(100, ((db + 60) / 60) * 100)));
}

// The meter falls slowly and rises at once, so speech does not flicker.
export function smooth(previous, next, fall = 0.85) {
  return next >= previous ? next : Math.round(previous * fall + next * (1 - fall));
}
