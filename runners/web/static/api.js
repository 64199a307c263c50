// The HTTP API (/api/v1) and the session's tokens: storage, scheduled refresh, losing the session.

import { debug } from "./debug.js";
import { reauthenticate } from "./signaling.js";
import { notify } from "./ui.js";

const API = "/api/v1";
const STORAGE_KEY = "confero.session";

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    Object.assign(this, { status, code, details });
  }
}

export const session = { access: null, refresh: null, user: null, timer: null, refreshing: null };

// Set by app.js: logging out touches the room and the views, which this module does not import.
let endSession = () => {};
export function onSessionEnd(handler) {
  endSession = handler;
}

export async function api(method, path, body, { auth = true, retry = true } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) headers.Authorization = `Bearer ${session.access}`;
  let res;
  try {
    res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  if (res.status === 401 && auth && retry && session.refresh) {
    await refreshTokens();
    return api(method, path, body, { auth, retry: false });
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error ?? {};
    throw new ApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? res.statusText, e.details);
  }
  return data;
}

// A file from the API (a transcript download) as a Blob: like api(), with the token and one refresh.
export async function apiBlob(path, { retry = true } = {}) {
  let res;
  try {
    res = await fetch(API + path, { headers: { Authorization: `Bearer ${session.access}` } });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  if (res.status === 401 && retry && session.refresh) {
    await refreshTokens();
    return apiBlob(path, { retry: false });
  }
  if (!res.ok) {
    const e = (await res.json().catch(() => null))?.error ?? {};
    throw new ApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? res.statusText, e.details);
  }
  return res.blob();
}

export function setTokens(tokens) {
  session.access = tokens.access_token;
  session.refresh = tokens.refresh_token;
  if (tokens.user) session.user = tokens.user;
  // sessionStorage: survives a reload of this tab, not shared with other tabs or kept after closing.
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ refresh: session.refresh, user: session.user }));
  clearTimeout(session.timer);
  const refreshIn = Math.max(5, tokens.expires_in * 0.8) * 1000;
  session.timer = setTimeout(() => refreshTokens().catch(sessionLost), refreshIn);
}

// One refresh at a time: presenting a rotated refresh token twice would revoke the whole session.
export function refreshTokens() {
  session.refreshing ??= (async () => {
    try {
      setTokens(await api("POST", "/auth/refresh", { refresh_token: session.refresh }, { auth: false }));
      debug.refreshes += 1;
      await reauthenticate(session.access);
    } finally {
      session.refreshing = null;
    }
  })();
  return session.refreshing;
}

export function sessionLost(err) {
  if (err?.status === 0) {  // offline: try again shortly rather than logging out
    session.timer = setTimeout(() => refreshTokens().catch(sessionLost), 5000);
    return;
  }
  endSession();
  notify("Your session has ended. Please log in again.");
}

// Forgets the tokens here and in sessionStorage (the rest of logging out is endSession's).
export function forgetSession() {
  clearTimeout(session.timer);
  Object.assign(session, { access: null, refresh: null, user: null });
  sessionStorage.removeItem(STORAGE_KEY);
}

// After a reload of the tab: takes back the stored refresh token and user; false if there are none.
export function restoreSavedSession() {
  const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null");
  if (!saved?.refresh) return false;
  Object.assign(session, { refresh: saved.refresh, user: saved.user });
  return true;
}

export function dropSavedSession() {
  sessionStorage.removeItem(STORAGE_KEY);
}
