// A rule's form: every kind's fields (from the rule model the page carries), validation messages inline from
// the API's 422 details, a backtest preview of the last 14 days before saving, and shadow → active promotion.

import { $, api, can, fill, h, isoAgo, setOptions, showError, start, table, tenantsFor, when } from "./core.js";
import { timelineChart } from "./charts.js";

const model = JSON.parse($("#rule-model").textContent);
const form = $("#rule-form");
let ruleId = $("#rule-head").dataset.ruleId;
let user = null;
let saved = null;
const PREVIEW_DAYS = 14;
const KIND_PARAMS = new Set(Object.values(model.params).flat());
const TEXT_PARAMS = new Set(["denominator", "network", "newTo"]);
const HINTS = {
  threshold: "At least threshold events of the condition in the trailing window, per group.",
  ratio: "The condition's share of the denominator in the window, against the same ratio over the baseline days.",
  stuck: "Envelopes sent and still unfinished after the SLA, per group.",
  new_network: "A user (or tenant) acting from a network unused in the lookback period.",
  anomaly: "The hourly count against the group's own hour-of-week baseline.",
  flatline: "No events for the window although some were expected: a broken or blocked feed.",
};

const input = (name) => document.getElementById(`r-${name}`);

function applyKind() {
  const kind = input("kind").value;
  const params = new Set(model.params[kind]);
  const defaults = model.defaults[kind] || {};
  for (const div of form.querySelectorAll("[data-field]")) {
    const name = div.dataset.field;
    if (!KIND_PARAMS.has(name)) continue;
    const on = params.has(name);
    div.hidden = !on;
    const el = input(name);
    el.disabled = !on;
    if (el.tagName === "SELECT") el.options[0].textContent = name in defaults ? `(default: ${defaults[name]})` : "(default)";
    else el.placeholder = name in defaults ? `default ${defaults[name]}` : name === "windowMinutes" ? (kind === "stuck" ? "none" : "default 60") : "";
  }
  const condition = input("condition");
  const anyEvent = kind === "new_network";
  condition.closest("[data-field]").hidden = anyEvent;
  condition.disabled = anyEvent;
  condition.placeholder = kind === "flatline" ? "default * (any event)" : "default envelope.sent";
  $("#filter-set").hidden = kind === "stuck" || kind === "new_network";
  $("#schedule-set").hidden = ["stuck", "new_network", "anomaly"].includes(kind);
  for (const el of $("#filter-set").querySelectorAll("input")) el.disabled = $("#filter-set").hidden;
  for (const el of $("#schedule-set").querySelectorAll("input")) el.disabled = $("#schedule-set").hidden;
  input("threshold").required = kind === "threshold";
  input("denominator").required = kind === "ratio";
  fill("#h-kind", HINTS[kind] || "");
}

// The form as a rule body: only what is filled in (the API fills every default in).
function body() {
  const out = { name: input("name").value.trim(), kind: input("kind").value };
  const local = [];
  for (const name of ["description", "condition", "tenant", "groupBy", "severity", "mode", "runbook"]) {
    const el = input(name);
    if (!el.disabled && el.value.trim()) out[name] = el.value.trim();
  }
  out.enabled = input("enabled").checked;
  for (const name of [...KIND_PARAMS, "cooldownMinutes"]) {
    const el = input(name);
    if (el.disabled) continue;
    if (el.validity && el.validity.badInput) local.push({ field: name, message: `${name} must be a number` });
    else if (el.value.trim()) out[name] = TEXT_PARAMS.has(name) ? el.value.trim() : Number(el.value);
  }
  if (!$("#filter-set").hidden) {
    const filter = {};
    for (const el of $("#filter-set").querySelectorAll("input[data-filter]")) {
      const parts = el.value.split(",").map((v) => v.trim()).filter(Boolean);
      if (parts.length) filter[el.dataset.filter] = parts.length === 1 ? parts[0] : parts;
    }
    if (Object.keys(filter).length) out.filter = filter;
  }
  if (!$("#schedule-set").hidden) {
    const choice = form.querySelector("input[name=schedule]:checked").value;
    const schedule = {};
    if (choice !== "always") schedule[choice] = true;
    if (input("timezone").value.trim()) schedule.timezone = input("timezone").value.trim();
    if (Object.keys(schedule).length) out.schedule = schedule;
  }
  const recipients = input("recipients").value.split("\n").map((v) => v.trim()).filter(Boolean);
  if (recipients.length) out.recipients = recipients;
  return { rule: out, local };
}

function fillForm(r) {
  for (const name of ["name", "kind", "description", "condition", "tenant", "groupBy", "severity", "mode", "runbook", "cooldownMinutes", ...KIND_PARAMS]) {
    const el = input(name);
    if (!el) continue;
    const v = r[name];
    if (el.tagName === "SELECT" && v && ![...el.options].some((o) => o.value === String(v))) el.append(h("option", { value: v }, v));
    el.value = v === null || v === undefined ? "" : String(v);
  }
  input("enabled").checked = r.enabled !== false;
  for (const el of $("#filter-set").querySelectorAll("input[data-filter]")) {
    const v = (r.filter || {})[el.dataset.filter];
    el.value = Array.isArray(v) ? v.join(", ") : v || "";
  }
  const sched = r.schedule || {};
  const choice = sched.offHoursOnly ? "offHoursOnly" : sched.businessHoursOnly ? "businessHoursOnly" : "always";
  form.querySelector(`input[name=schedule][value=${choice}]`).checked = true;
  input("timezone").value = sched.timezone || "";
  input("recipients").value = (r.recipients || []).join("\n");
  applyKind();
}

// -- messages ----------------------------------------------------------------------------------------------
function clearErrors() {
  for (const p of form.querySelectorAll(".field-error")) p.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  $("#error-summary").hidden = true;
  fill("#error-list");
}

function errorSlot(field) {
  const parts = field.split(".");
  while (parts.length) {
    const slot = document.getElementById(`e-${parts.join(".")}`);
    if (slot && !slot.closest("[hidden]")) return [slot, parts.join(".")];
    parts.pop();
  }
  return [null, null];
}

function showErrors(details) {
  clearErrors();
  const items = [];
  for (const { field, message } of details) {
    const [slot, name] = errorSlot(field || "");
    let target = null;
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent}; ${message}` : message;
      target = input(name) || document.getElementById(`r-${name.replace(".", "-")}`) || form.querySelector(`[name="${name}"]`);
      if (target) target.setAttribute("aria-invalid", "true");
    }
    items.push(h("li", { dataset: { field: field || "" } }, target && target.id ? h("a", { href: `#${target.id}` }, message) : message));
  }
  fill("#error-list", items);
  $("#error-summary").hidden = false;
  $("#error-summary").focus();
}

function problems(err) {
  if (err.details && err.details.length) return err.details;
  return [{ field: err.field || "", message: err.message }];
}

// -- actions --------------------------------------------------------------------------------------------------
function previewRange() {
  const to = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  return { from: isoAgo(PREVIEW_DAYS * 864e5), to };
}

function showAlerts(alerts, range, sentence) {
  const panel = $("#preview-panel");
  panel.hidden = false;
  fill("#preview-summary", h("span", { dataset: { wouldFire: alerts.length } }, sentence));
  fill("#preview-chart", alerts.length ? timelineChart(alerts, { ...range, label: "Backtest alerts", width: $("#preview-chart").clientWidth }) : null);
  fill("#preview-table", table(
    [
      { label: "fired", value: (a) => when(a.firedAt) },
      { label: "tenant", value: (a) => a.tenant },
      { label: "group", value: (a) => a.groupKey },
      { label: "resolved", value: (a) => (a.resolvedAt ? when(a.resolvedAt) : "still open") },
      { label: "what happened", value: (a) => a.explanation || "" },
    ],
    alerts.slice(0, 200),
    { caption: "Alerts the rule would have fired", empty: "", rowAttrs: (a) => ({ dataset: { firedAt: a.firedAt } }) },
  ));
}

async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

async function preview() {
  const { rule, local } = body();
  if (local.length) return showErrors(local);
  fill("#form-message", "Checking the rule and replaying the last 14 days…");
  const range = previewRange();
  try {
    const out = await api("/monitor/v2/alert/rules/validate", { method: "POST", body: { rule, ...range } });
    clearErrors();
    fill("#form-message", h("span", { class: "message-ok" }, "The rule is valid."));
    const n = out.wouldFire;
    showAlerts(out.alerts, range, `Would have fired ${n} time${n === 1 ? "" : "s"} in the last ${PREVIEW_DAYS} days.`);
  } catch (err) {
    fill("#form-message");
    if (err.status === 422 || err.status === 400 || err.status === 403) showErrors(problems(err));
    else showError("#form-message", err);
  }
}

async function backtest() {
  const range = previewRange();
  fill("#form-message", "Replaying the saved rule over the last 14 days…");
  try {
    const out = await api(`/monitor/v2/alert/rules/${encodeURIComponent(ruleId)}/backtest`, { method: "POST", body: range });
    fill("#form-message");
    const n = out.count;
    showAlerts(out.data, range, `The saved rule would have fired ${n} time${n === 1 ? "" : "s"} in the last ${PREVIEW_DAYS} days.`);
  } catch (err) {
    showError("#form-message", err);
  }
}

async function save(event) {
  event.preventDefault();
  const { rule, local } = body();
  if (local.length) return showErrors(local);
  try {
    const out = ruleId
      ? await api(`/monitor/v2/alert/rules/${encodeURIComponent(ruleId)}`, { method: "PUT", body: rule })
      : await api("/monitor/v2/alert/rules", { method: "POST", body: rule });
    clearErrors();
    if (!ruleId) {
      location.assign(`/ui/rules/${encodeURIComponent(out.id)}?saved=1`);
      return;
    }
    shown(out);
    fill("#form-message", h("span", { class: "message-ok" }, "Saved."));
  } catch (err) {
    if (err.status === 422 || err.status === 400 || err.status === 403) showErrors(problems(err));
    else showError("#form-message", err);
  }
}

async function promote() {
  try {
    shown(await api(`/monitor/v2/alert/rules/${encodeURIComponent(ruleId)}`, { method: "PATCH", body: { mode: "active" } }));
    fill("#form-message", h("span", { class: "message-ok" }, "Promoted: the rule is active and its alerts notify."));
  } catch (err) {
    showError("#form-message", err);
  }
}

function shown(r) {
  saved = r;
  ruleId = r.id;
  fillForm(r);
  document.title = `${r.name} · signwatch`;
  fill("#rule-title", r.name);
  const mode = $("#rule-mode");
  mode.hidden = false;
  fill(mode, r.mode);
  mode.className = `badge ${r.mode}`;
  mode.dataset.mode = r.mode;
  $("#promote").hidden = !(r.mode === "shadow" && can(user, "rules:write"));
  $("#backtest").hidden = false;
}

async function load(me) {
  user = me;
  setOptions(input("tenant"), await tenantsFor(me));
  applyKind();
  if (ruleId) {
    try {
      shown(await api(`/monitor/v2/alert/rules/${encodeURIComponent(ruleId)}`));
    } catch (err) {
      if (err.status !== 404) throw err;
      fill("#main", h("h1", {}, "Rule not found"), h("p", {}, "It does not exist, or your sign-in does not cover its tenants. "), h("a", { href: "/ui/rules" }, "All rules"));
      return;
    }
    if (new URLSearchParams(location.search).get("saved")) {
      fill("#form-message", h("span", { class: "message-ok" }, `Saved in ${saved.mode} mode.`));
      history.replaceState(null, "", location.pathname);
    }
  }
  if (!can(me, "rules:write")) {
    $("#save").disabled = true;
    fill("#form-message", "Your sign-in may read rules and preview them, not save them (it lacks rules:write).");
  }
}

input("kind").addEventListener("change", applyKind);
form.addEventListener("submit", save);
$("#preview").addEventListener("click", (event) => busy(event.currentTarget, preview));
$("#backtest").addEventListener("click", (event) => busy(event.currentTarget, backtest));
$("#promote").addEventListener("click", (event) => busy(event.currentTarget, promote));

await start(load, { refresh: false });
