// The size each remote video tile is rendered at, for the SFU's layer choice (docs/signaling.md 13.11),
// without the DOM: tiles report their size (a ResizeObserver in room.js), this keeps them, and sends
// media_preferences {video_sizes} once the sizes settle (debounced), only when a size changed. The sizes
// go alone: the SFU keeps the fields a media_preferences leaves out (last_n, pinned), and each send lists
// every tile shown ({} when none), since video_sizes replaces the sizes sent before as a whole.
//
// Keys are the tile keys: "<user id>" for a camera, "<user id>:screen" for a screen share. Sizes are
// in device pixels (CSS pixels times devicePixelRatio), rounded up to a multiple of STEP so that a
// tile resizing by a pixel or two does not resend.

export const MAX_SIZES = 64;  // what the SFU accepts
export const STEP = 16;
export const DEBOUNCE_MS = 400;

export function devicePixels(cssWidth, cssHeight, ratio = 1) {
  const up = (v) => Math.min(16_384, Math.ceil((v * ratio) / STEP) * STEP);
  return { width: up(cssWidth), height: up(cssHeight) };
}

export class TileSizes {
  // send(videoSizes) -> Promise; setTimer(fn, ms) -> handle; clearTimer(handle).
  // The defaults wrap the globals: stored on the object and called as this.setTimer(...), the browser's
  // own setTimeout would throw "TypeError: Illegal invocation" (its `this` must be the window).
  constructor({ send, debounceMs = DEBOUNCE_MS, setTimer = (fn, ms) => setTimeout(fn, ms),
                clearTimer = (handle) => clearTimeout(handle) }) {
    Object.assign(this, { send, debounceMs, setTimer, clearTimer });
    this.sizes = new Map();   // key -> {width, height}
    this.sent = null;         // the JSON last sent
    this.timer = null;
    this.sends = 0;
  }

  // A tile's rendered size in CSS pixels; 0 (hidden, removed) forgets it.
  observe(key, cssWidth, cssHeight, ratio = 1) {
    if (!key || key === "self" || key.startsWith("self:")) return;
    if (!(cssWidth > 0 && cssHeight > 0)) {
      this.forget(key);
      return;
    }
    const size = devicePixels(cssWidth, cssHeight, ratio);
    const old = this.sizes.get(key);
    if (old && old.width === size.width && old.height === size.height) return;
    this.sizes.set(key, size);
    this.schedule();
  }

  forget(key) {
    if (this.sizes.delete(key)) this.schedule();
  }

  // What would be sent now: the largest tiles first when there are more than the SFU takes.
  videoSizes() {
    const entries = [...this.sizes.entries()]
      .sort(([a, x], [b, y]) => (y.width * y.height - x.width * x.height) || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, MAX_SIZES);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, { ...v }]));
  }

  schedule() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.flush();
    }, this.debounceMs);
  }

  // Sends the sizes if they differ from what was sent last.
  flush() {
    const sizes = this.videoSizes();
    const json = JSON.stringify(sizes);
    if (json === this.sent) return Promise.resolve(false);
    this.sent = json;
    this.sends += 1;
    return Promise.resolve(this.send(sizes)).then(() => true, () => {
      this.sent = null;  // not taken (e.g. a reconnect under way): the next change or resend tries again
      return false;
    });
  }

  // A new media connection (reconnect, media_reset): the SFU forgot them, send them again.
  resend() {
    this.sent = null;
    if (this.sizes.size) this.schedule();
  }

  close() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }
}
