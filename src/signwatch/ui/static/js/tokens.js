// API tokens: a person's own personal tokens — list, make one (the secret shown once), revoke one
// (GET/POST /auth/tokens, DELETE /auth/tokens/{id}). Only people may: a session opened with an API token
// (`user` null in /auth/me) gets an explanation instead.

import { $, ApiError, api, badge, fill, h, start, table, tenantsFor, when } from "./core.js";

let ready = false;
let revoking = null;

function offer(me) {
  // the scopes this session holds: every known one for an admin session (the API bounds it by the groups)
  const admin = me.scopes.includes("admin");
  for (const label of document.querySelectorAll("[data-scope-option]")) {
    label.hidden = !admin && !me.scopes.includes(label.dataset.scopeOption);
    label.querySelector("input").disabled = label.hidden;
  }
}

async function offerTenants(me) {
  const tenants = await tenantsFor(me);
  fill("#tenant-options", tenants.map((t) => h("label", {}, h("input", { type: "checkbox", name: "tenants", value: t }), t)));
  const all = me.tenants ? `the tenants your session covers (${me.tenants.join(", ")})` : "every tenant, as your session";
  fill("#t-tenants-hint", tenants.length ? `None ticked: ${all}.` : `The token covers ${all}.`);
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name=${name}]:checked`)].map((el) => el.value);
}

function clearErrors() {
  for (const id of ["#e-name", "#e-scopes", "#e-tenants", "#token-error"]) fill(id);
  $("#t-name").removeAttribute("aria-invalid");
}

function fieldError(field, message) {
  const target = { name: "#e-name", scopes: "#e-scopes", tenants: "#e-tenants" }[field] || "#token-error";
  fill(target, message);
  if (field === "name") $("#t-name").setAttribute("aria-invalid", "true");
}

async function create(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors();
  const name = $("#t-name").value.trim(); // not form.name: that is the form's own name
  const scopes = checked(form, "scopes");
  const tenants = checked(form, "tenants");
  if (!name) return fieldError("name", "Give the token a name.");
  if (!scopes.length) return fieldError("scopes", "Choose at least one scope.");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const made = await api("/auth/tokens", { method: "POST", body: tenants.length ? { name, scopes, tenants } : { name, scopes } });
    form.reset();
    showSecret(made);
    await list();
  } catch (err) {
    if (err instanceof ApiError) fieldError(err.field, `${err.message} (HTTP ${err.status})`);
    else fieldError(null, String(err));
  } finally {
    button.disabled = false;
  }
}

function showSecret(made) {
  fill("#secret-name", h("q", {}, made.name));
  $("#secret").value = made.token;
  fill("#copy-message");
  $("#new-secret").hidden = false;
  $("#new-secret").focus();
  $("#secret").select();
}

function hideSecret() {
  $("#secret").value = "";
  $("#new-secret").hidden = true;
  $("#t-name").focus();
}

async function copySecret() {
  const field = $("#secret");
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    field.select(); // no clipboard access (an insecure origin): select it for Ctrl+C
    fill("#copy-message", "Selected: press Ctrl+C (⌘C) to copy.");
    return;
  }
  fill("#copy-message", "Copied.");
}

async function list() {
  const tokens = (await api("/auth/tokens")).data;
  tokens.sort((a, b) => (a.revokedAt ? 1 : 0) - (b.revokedAt ? 1 : 0) || b.createdAt.localeCompare(a.createdAt));
  fill("#tokens", table(
    [
      { label: "name", value: (t) => t.name },
      { label: "scopes", value: (t) => t.scopes.map((s) => h("code", { class: "scope" }, s)) },
      { label: "tenants", value: (t) => (t.tenants ? t.tenants.join(", ") : "every tenant"), cls: "hide-narrow" },
      { label: "created", value: (t) => when(t.createdAt), cls: "hide-narrow" },
      { label: "status", value: (t) => (t.revokedAt ? [badge("revoked", "shadow"), " ", when(t.revokedAt)] : badge("active")) },
      { label: "action", value: (t) => (t.revokedAt ? "" : h("button", { type: "button", class: "danger small", dataset: { revoke: t.id }, "aria-label": `Revoke ${t.name}`, onclick: () => askRevoke(t) }, "Revoke")) },
    ],
    tokens,
    { caption: "Your tokens", empty: "You have no personal tokens yet.", rowAttrs: (t) => ({ class: t.revokedAt ? "muted" : null, dataset: { tokenId: t.id, name: t.name, state: t.revokedAt ? "revoked" : "active" } }) },
  ));
}

function askRevoke(t) {
  revoking = t;
  fill("#revoke-name", h("q", {}, t.name));
  $("#revoke-dialog").returnValue = "";
  $("#revoke-dialog").showModal();
}

async function closedDialog() {
  const t = revoking;
  revoking = null;
  if (!t || $("#revoke-dialog").returnValue !== "revoke") return;
  try {
    await api(`/auth/tokens/${encodeURIComponent(t.id)}`, { method: "DELETE" });
    fill("#list-message", h("span", { class: "message-ok" }, `Token “${t.name}” revoked.`));
  } catch (err) {
    fill("#list-message", h("span", { class: "error" }, `Could not revoke “${t.name}”: ${err.message}`));
  }
  await list();
}

async function load(me) {
  if (!me.user) {
    $("#session-name").textContent = me.name;
    $("#not-person").hidden = false;
    return;
  }
  if (!ready) {
    ready = true;
    offer(me);
    await offerTenants(me);
    $("#person").hidden = false;
  }
  await list();
}

$("#token-form").addEventListener("submit", create);
$("#copy").addEventListener("click", copySecret);
$("#secret-done").addEventListener("click", hideSecret);
$("#revoke-dialog").addEventListener("close", closedDialog);
await start(load);
