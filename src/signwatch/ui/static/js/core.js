// The dashboard's plumbing: calling the JSON APIs with the session, the signed-in user, DOM building,
// formatting, the filter bar and auto-refresh. Every page module imports from here.

export const REFRESH_MS = 30000;

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code;
    this.field = error && error.field;
    this.details = (error && error.details) || [];
  }
}

// A JSON API call: the session cookie (same origin), and the CSRF header on every change.
export async function api(path, { method = "GET", body, params, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-Signwatch-CSRF"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(url, {
    method, headers, credentials: "same-origin", signal,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (resp.status === 401 && !path.startsWith("/auth/")) {
    toLogin();
    throw new ApiError(401, data && data.error);
  }
  if (!resp.ok) throw new ApiError(resp.status, data && data.error);
  return data;
}

export function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/ui/login?next=${encodeURIComponent(next)}`);
}

let me = null;

// The signed-in caller (GET /auth/me: {name, kind, scopes, tenants, user, expiresAt}; `user` is the SCIM user
// of a person, null for a session opened with an API token); sends a signed-out browser to the login page.
export async function session() {
  if (me) return me;
  try {
    me = await api("/auth/me");
  } catch (err) {
    toLogin();
    throw err;
  }
  return me;
}

export function can(user, scope) {
  return user.scopes.includes(scope) || user.scopes.includes("admin");
}

// Sign in with an API token: POST /auth/session opens a session and sets its HttpOnly cookie; the token itself
// is not kept in the browser.
export async function signIn(token) {
  return api("/auth/session", { method: "POST", body: { token } });
}

export async function signOut() {
  try {
    await api("/auth/session", { method: "DELETE" });
  } catch {
    // signed out either way
  }
  location.assign("/ui/login");
}

// -- DOM ------------------------------------------------------------------------------------------------------
// h("a", {href: "/x", class: "y"}, "text", child...): elements built from data, never from HTML strings.
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function $(selector) {
  return document.querySelector(selector);
}

export function fill(target, ...children) {
  const node = typeof target === "string" ? $(target) : target;
  node.replaceChildren();
  append(node, children);
  return node;
}

// A real table: columns [{label, value: row => text|node, num: bool, cls}], rows; `rowAttrs(row)` per <tr>.
export function table(columns, rows, { caption, empty = "Nothing in this range.", rowAttrs, id } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  const cls = (c) => [c.num ? "num" : "", c.cls || ""].join(" ").trim() || null;
  return h(
    "table",
    { id },
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: cls(c) }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h("td", { class: cls(c) }, c.value(r)))),
      ),
    ),
  );
}

// -- formatting -----------------------------------------------------------------------------------------------
const NUM = new Intl.NumberFormat("en");
export const num = (v) => (v === null || v === undefined ? "–" : NUM.format(v));
export const pct = (v, digits = 1) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(digits)} %`);
const WHEN = new Intl.DateTimeFormat("en-GB", {
  year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "UTC",
});
export function when(iso) {
  if (!iso) return "–";
  return h("time", { datetime: iso, title: iso }, `${WHEN.format(new Date(iso))} UTC`);
}
const DAY = new Intl.DateTimeFormat("en-GB", { year: "numeric", month: "short", day: "2-digit", timeZone: "UTC" });
export function day(iso) {
  if (!iso) return "–";
  return h("time", { datetime: iso, title: iso }, DAY.format(new Date(iso)));
}
export function badge(text, cls) {
  return h("span", { class: `badge ${cls || text}` }, text);
}
export function userLink(user) {
  return h("a", { href: `/ui/users/${encodeURIComponent(user)}` }, user);
}

export function status(text) {
  const node = $("#status");
  if (node) node.textContent = text;
}

export function showError(target, err) {
  const message = err instanceof ApiError ? `${err.message} (HTTP ${err.status})` : String(err);
  fill(target, h("p", { class: "error", role: "alert" }, message));
}

// -- filter bar, shareable in the URL --------------------------------------------------------------------------
export function readFilters(form) {
  const params = new URLSearchParams(location.search);
  for (const el of form.elements) {
    if (!el.name) continue;
    const v = params.get(el.name);
    if (v !== null) {
      if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === v)) el.append(h("option", { value: v }, v));
      el.value = v;
    }
  }
  return values(form);
}

export function values(form) {
  const out = {};
  for (const el of form.elements) if (el.name && el.value) out[el.name] = el.value;
  return out;
}

export function writeFilters(filters) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  const q = params.toString();
  history.replaceState(null, "", q ? `${location.pathname}?${q}` : location.pathname);
}

export function setOptions(select, options, keep = 1) {
  const current = select.value;
  while (select.options.length > keep) select.remove(keep);
  for (const o of options) {
    const [value, label] = Array.isArray(o) ? o : [o, o];
    select.append(h("option", { value }, label));
  }
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

// Tenants to offer: the user's own; for a user of every tenant, those with activity in the last 30 days and
// any the data has shown since (kept for the tab). There is no tenant list in the API.
export async function tenantsFor(user) {
  if (user.tenants) return [...user.tenants].sort();
  if (!sessionStorage.getItem("signwatch.tenants")) {
    let seen = [];
    try {
      const o = await api("/monitor/v2/insights/overview", { params: { range: "30d" } });
      seen = o.tenants.map((t) => t.tenant);
      const units = (o.businessUnits || []).map((u) => [u.tenant, u.businessUnit]).filter(([, bu]) => bu);
      sessionStorage.setItem("signwatch.units", JSON.stringify(units));
    } catch {
      // offered as the data shows them
    }
    return knownTenants(user, seen);
  }
  return knownTenants(user);
}

export function knownTenants(user, seen = []) {
  if (user.tenants) return [...user.tenants].sort();
  const kept = JSON.parse(sessionStorage.getItem("signwatch.tenants") || "[]");
  const all = [...new Set([...kept, ...seen])].sort();
  sessionStorage.setItem("signwatch.tenants", JSON.stringify(all));
  return all;
}

// -- page start and auto-refresh -------------------------------------------------------------------------------
// start(load): sign-in check, header, first load, then a reload every 30 s while the tab is visible.
export async function start(load, { refresh = true } = {}) {
  const user = await session();
  header(user);
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await load(user);
      status(`Updated ${new Date().toLocaleTimeString("en-GB")}`);
    } catch (err) {
      if (err.status !== 401) status(`Could not load: ${err.message}`);
      console.warn(err);
    } finally {
      running = false;
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
    }
  };
  await run();
  if (refresh) {
    setInterval(() => {
      if (!document.hidden) run();
    }, REFRESH_MS);
  }
  return run;
}

function header(user) {
  const who = $("#who");
  if (who) who.textContent = user.tenants ? `${user.name} · ${user.tenants.join(", ")}` : user.name;
  for (const a of document.querySelectorAll("[data-scope]")) {
    if (!can(user, a.dataset.scope)) (a.closest("li") || a).hidden = true;
  }
  const out = $("#sign-out");
  if (out) out.addEventListener("click", signOut);
}

// Date helpers for ranges: "7d" → ms, and ISO strings.
export const RANGES = { "24h": 864e5, "7d": 7 * 864e5, "30d": 30 * 864e5, "90d": 90 * 864e5, "365d": 365 * 864e5 };
export function isoAgo(ms, now = Date.now()) {
  return new Date(now - ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
