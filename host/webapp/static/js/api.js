// The session (phone + code sign-in, quiet refresh) and every call to Linli's JSON APIs (same origin).
import { lang } from "./i18n.js";

const KEY = "linli.session";
let refreshing = null;
let timer = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code;
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

function claimsOf(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function store(tokens) {
  const claims = claimsOf(tokens.access_token);
  const value = {
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    expires: Date.now() + (tokens.expires_in || 900) * 1000,
    claims,
  };
  localStorage.setItem(KEY, JSON.stringify(value));
  schedule();
  for (const fn of listeners) fn(value);
  return value;
}

export function onSession(fn) {
  listeners.add(fn);
}

export function me() {
  const s = session();
  if (!s) return null;
  const c = s.claims || {};
  return {
    sub: c.sub,
    name: c.name || "",
    roles: c.roles || [],
    communities: c.communities || [],
    household: c.household || null,
    has: (...roles) => roles.some((r) => (c.roles || []).includes(r)),
  };
}

/** Refresh a minute before the access token runs out, so a page left open keeps working. */
function schedule() {
  clearTimeout(timer);
  const s = session();
  if (!s) return;
  const wait = Math.max(5_000, s.expires - Date.now() - 60_000);
  timer = setTimeout(() => refresh().catch(() => {}), wait);
}

export function refresh() {
  if (refreshing) return refreshing;
  const s = session();
  if (!s?.refresh) return Promise.reject(new ApiError(401, {}));
  refreshing = fetch("/api/accounts/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept-Language": lang() },
    body: JSON.stringify({ refresh_token: s.refresh }),
  })
    .then(async (answer) => {
      if (!answer.ok) {
        if (answer.status === 401) signedOut();
        throw new ApiError(answer.status, await answer.json().catch(() => ({})));
      }
      return store(await answer.json());
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

function signedOut() {
  localStorage.removeItem(KEY);
  clearTimeout(timer);
  for (const fn of listeners) fn(null);
}

export async function askCode(phone) {
  return call("/api/accounts/auth/code", { method: "POST", json: { phone }, anonymous: true });
}

export async function signIn(phone, code) {
  const tokens = await call("/api/accounts/auth/token", { method: "POST", json: { phone, code }, anonymous: true });
  return store(tokens);
}

export async function signOut() {
  const s = session();
  if (s?.refresh) {
    await call("/api/accounts/auth/signout", { method: "POST", json: { refresh_token: s.refresh }, anonymous: true }).catch(() => {});
  }
  signedOut();
}

export function accessToken() {
  return session()?.access || null;
}

/** fetch with the bearer token; one quiet refresh and retry on 401. Throws ApiError (problem+json). */
export async function call(path, { method = "GET", json, form, body, headers = {}, anonymous = false } = {}, retried = false) {
  const h = { Accept: "application/json", "Accept-Language": lang(), ...headers };
  let payload = body;
  if (json !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  } else if (form !== undefined) {
    payload = form;
  }
  const s = session();
  if (!anonymous && s) {
    if (s.expires - Date.now() < 10_000 && !retried) await refresh().catch(() => {});
    h.Authorization = `Bearer ${accessToken()}`;
  }
  const answer = await fetch(path, { method, headers: h, body: payload });
  if (answer.status === 401 && !anonymous && !retried && session()?.refresh) {
    await refresh();
    return call(path, { method, json, form, body, headers, anonymous }, true);
  }
  if (!answer.ok) {
    throw new ApiError(answer.status, await answer.json().catch(() => ({})));
  }
  if (answer.status === 204) return null;
  const type = answer.headers.get("Content-Type") || "";
  return type.includes("json") ? answer.json() : answer.text();
}

schedule();
