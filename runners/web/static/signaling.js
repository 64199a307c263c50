// The signaling WebSocket client (docs/signaling.md): auth frame, request/reply by id, server events.

import { debug } from "./debug.js";

export const REQUEST_TIMEOUT_MS = 15000;

export class SignalError extends Error {
  constructor({ code, message, details }) {
    super(message);
    Object.assign(this, { code, details });
  }
}

export class Signaling {
  constructor(onEvent, onClose) {
    this.onEvent = onEvent;
    this.onClose = onClose;
    this.pending = new Map();
    this.nextId = 1;
    this.ready = false;
    this.closedByUs = false;
  }

  // Resolves with `welcome` once the auth frame is accepted.
  open(token) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocket(`${scheme}//${location.host}/ws/signaling`);
    return new Promise((resolve, reject) => {
      this.ws.onopen = () => this.ws.send(JSON.stringify({ v: 1, type: "auth", data: { token } }));
      this.ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        if (!this.ready && msg.type === "welcome") {
          this.ready = true;
          resolve(msg.data);
        } else if (!this.ready && msg.type === "error") {
          reject(new SignalError(msg.data));
        } else {
          this.dispatch(msg);
        }
      };
      this.ws.onclose = (ev) => {
        const wasReady = this.ready;
        this.ready = false;
        for (const { reject: fail, timer } of this.pending.values()) {
          clearTimeout(timer);
          fail(new SignalError({ code: "socket_closed", message: "The connection closed." }));
        }
        this.pending.clear();
        if (!wasReady) reject(new SignalError({ code: `close_${ev.code}`, message: "Cannot connect." }));
        else if (!this.closedByUs) this.onClose(ev.code, ev.reason);
      };
    });
  }

  dispatch(msg) {
    const waiting = msg.re !== undefined && this.pending.get(msg.re);
    if (waiting) {
      this.pending.delete(msg.re);
      clearTimeout(waiting.timer);
      if (msg.type === "error") waiting.reject(new SignalError(msg.data));
      else waiting.resolve(msg.data);
    } else if (msg.type === "notification") {
      // For the bell (notifications.js), whatever view holds this socket.
      window.dispatchEvent(new CustomEvent("confero:notification", { detail: msg.data }));
    } else {
      this.onEvent(msg.type, msg.data);
    }
  }

  request(type, data = {}) {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this.ready) {
        reject(new SignalError({ code: "socket_closed", message: "Not connected." }));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalError({ code: "timeout", message: `No reply to ${type}.` }));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ v: 1, type, id, data }));
    });
  }

  close() {
    this.closedByUs = true;
    this.ws?.close(1000);
  }
}

// ---------------------------------------------------------------- the page's one connection

export let signaling = null;

export async function connectSignaling(token, onEvent, onClose) {
  if (signaling?.ready) return signaling;
  const s = new Signaling(onEvent, (code, reason) => {
    signaling = null;
    onClose(code, reason);
  });
  await s.open(token);
  signaling = s;
  return s;
}

export function closeSignaling() {
  signaling?.close();
  signaling = null;
}

// After a token refresh. A refused re-auth is not fatal: the socket closes with 4401 later and
// reconnects then.
export async function reauthenticate(token) {
  if (signaling?.ready) {
    await signaling.request("auth", { token })
      .then(() => { debug.reauths += 1; }, (err) => console.warn("re-auth refused", err));
  }
}
