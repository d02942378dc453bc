// One alert: what happened, its evidence (observed vs expected, the activity in its window, top actors,
// addresses and countries, sample events), and acknowledge / resolve with a note.

import { $, ApiError, api, badge, can, fill, h, num, showError, start, table, userLink, when } from "./core.js";
import { activityChart, evidenceChart } from "./charts.js";

const id = $("#alert-head").dataset.alertId;
let current = null;
let user = null;
let rule; // undefined: not asked yet; null: not readable

function facts(a) {
  const rows = [
    ["Severity", badge(a.severity)],
    ["State", badge(a.state)],
    ["Mode", badge(a.mode)],
    ["Rule", rule ? h("a", { href: `/ui/rules/${encodeURIComponent(a.ruleId)}` }, a.ruleName) : a.ruleName],
    ["Tenant", a.tenant],
    ["Group", rule && rule.groupBy === "actor" ? userLink(a.groupKey) : a.groupKey],
    ["Fired", when(a.firedAt)],
    ["Resolved", a.resolvedAt ? when(a.resolvedAt) : "not yet"],
    ["Window", [when(a.windowStart), " – ", when(a.windowEnd)]],
    ["Silenced", a.silenced ? `yes (${a.silenceId})` : "no"],
    ["Runbook", a.runbook || "–"],
    ["Acknowledged", a.acknowledgedBy ? [a.acknowledgedBy, " ", when(a.acknowledgedAt), a.ackNote ? `: ${a.ackNote}` : ""] : "no"],
    ["Resolved by", a.resolvedBy ? [a.resolvedBy, a.resolveNote ? `: ${a.resolveNote}` : ""] : "–"],
  ];
  fill("#facts", rows.map(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { fact: k.toLowerCase() } }, v)]));
}

function triage(a) {
  const writer = can(user, "alerts:write");
  const acked = !!a.acknowledgedBy;
  const resolved = !!a.resolvedBy || a.state === "resolved";
  $("#ack").disabled = !writer || acked || resolved;
  $("#resolve").disabled = !writer || !!a.resolvedBy;
  $("#ack-note").disabled = $("#ack").disabled;
  $("#resolve-note").disabled = $("#resolve").disabled;
  fill("#triage-state", writer
    ? (acked ? `Acknowledged by ${a.acknowledgedBy}.` : resolved ? "Resolved." : "Not acknowledged yet.")
    : "Your sign-in may read alerts but not change them (it lacks alerts:write).");
}

function lists(ev) {
  const blocks = [];
  const list = (title, rows, key, cell) => rows && rows.length && blocks.push(h("div", {}, h("h3", {}, title), table(
    [{ label: key, value: cell || ((r) => r[key]) }, { label: "events", num: true, value: (r) => num(r.count) }], rows, { caption: title })));
  list("Top actors", ev.topActors, "actor", (r) => userLink(r.actor));
  list("Top addresses", ev.topIps, "ip");
  list("Top countries", ev.topCountries, "country");
  if (ev.envelopeIds) {
    blocks.push(h("div", {}, h("h3", {}, `Overdue envelopes (${num(ev.count)})`), h("ul", {}, ev.envelopeIds.map((e) => h("li", {}, h("code", {}, e))))));
  }
  fill("#evidence-lists", blocks.length ? blocks : h("p", { class: "empty" }, "No evidence lists recorded for this alert."));
}

// The events behind the alert: its condition's events in and around its window, from the data API.
async function activity(a) {
  const ws = Date.parse(a.windowStart);
  const we = Date.parse(a.windowEnd);
  const span = Math.max(we - ws, 6e4);
  const from = new Date(ws - span).toISOString();
  const to = new Date(Math.min(we + span, Date.now())).toISOString();
  const params = { from, to, tenant: a.tenant, limit: 1000 };
  if (rule && rule.condition && rule.condition !== "*") params.type = rule.condition;
  if (rule && rule.groupBy === "actor") params.actor = a.groupKey;
  let events = [];
  try {
    events = (await api("/monitor/v2/data", { params })).data;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) throw err;
  }
  if (rule && rule.groupBy === "businessUnit") events = events.filter((e) => e.businessUnit === a.groupKey);
  if (rule && rule.groupBy === "country") events = events.filter((e) => e.geo && e.geo.country === a.groupKey);
  const buckets = 60;
  const t0 = Date.parse(from);
  const step = (Date.parse(to) - t0) / buckets;
  const counts = Array.from({ length: buckets }, (_, i) => ({ t: new Date(t0 + i * step).toISOString(), count: 0 }));
  for (const e of events) {
    const i = Math.floor((Date.parse(e.occurredAt) - t0) / step);
    if (i >= 0 && i < buckets) counts[i].count += 1;
  }
  const what = params.type || "events";
  fill("#activity-chart",
    h("h3", {}, `${what} around the window`),
    activityChart(counts, { from, to, windowStart: a.windowStart, windowEnd: a.windowEnd, label: `${what} around the alert's window` }));
  return events;
}

function samples(a, events) {
  const wanted = new Set((a.evidence && a.evidence.sampleEventIds) || []);
  let rows = events.filter((e) => wanted.has(e.id)).sort((x, y) => x.occurredAt.localeCompare(y.occurredAt));
  if (!rows.length) rows = events.filter((e) => e.occurredAt >= a.windowStart && e.occurredAt <= a.windowEnd).slice(0, 10);
  fill("#samples", table(
    [
      { label: "time", value: (e) => when(e.occurredAt) },
      { label: "type", value: (e) => e.type },
      { label: "actor", value: (e) => (e.actor && (e.actor.email || e.actor.id)) || "–" },
      { label: "address", value: (e) => e.ipAddress || "–" },
      { label: "country", value: (e) => (e.geo && e.geo.country) || "–" },
      { label: "network", value: (e) => (e.geo && (e.geo.asn || e.geo.network)) || "–", cls: "hide-narrow" },
      { label: "envelope", value: (e) => e.envelopeId || "–", cls: "hide-narrow" },
    ],
    rows, { caption: "Sample events", empty: "No sample events are readable for this alert.", rowAttrs: (e) => ({ dataset: { eventId: e.id } }) }));
}

function render(a) {
  current = a;
  document.title = `${a.ruleName} · signwatch`;
  fill("#alert-title", a.ruleName, " ", badge(a.severity));
  fill("#alert-explanation", a.explanation || "");
  $("#alert-head").dataset.state = a.state;
  facts(a);
  triage(a);
  fill("#evidence-chart", h("h3", {}, "At the first minute"), evidenceChart(a));
  lists(a.evidence || {});
}

async function load(me) {
  user = me;
  let a;
  try {
    a = await api(`/monitor/v2/alerts/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status === 404) {
      fill("#main", h("h1", {}, "Alert not found"), h("p", {}, "It does not exist, or your sign-in does not cover its tenant. "), h("a", { href: "/ui/alerts" }, "All alerts"));
      return;
    }
    throw err;
  }
  if (rule === undefined) {
    try {
      rule = await api(`/monitor/v2/alert/rules/${encodeURIComponent(a.ruleId)}`);
    } catch {
      rule = null;
    }
  }
  render(a);
  samples(a, await activity(a));
}

async function annotate(action, note, message) {
  const button = $(`#${action === "ack" ? "ack" : "resolve"}`);
  button.disabled = true;
  try {
    const a = await api(`/monitor/v2/alerts/${encodeURIComponent(id)}/${action}`, { method: "POST", body: note ? { note } : {} });
    render(a);
    fill("#triage-message", h("span", { class: "message-ok" }, message));
  } catch (err) {
    showError("#triage-message", err);
    triage(current);
  }
}

$("#ack-form").addEventListener("submit", (event) => {
  event.preventDefault();
  annotate("ack", $("#ack-note").value.trim(), "Acknowledged.");
});
$("#resolve-form").addEventListener("submit", (event) => {
  event.preventDefault();
  annotate("resolve", $("#resolve-note").value.trim(), "Resolved.");
});

await start(load);
