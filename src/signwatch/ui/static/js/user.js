// One user: their timeline by event type, off-hours share, countries and networks (new ones flagged) and the
// alerts about them (GET /monitor/v2/insights/users/{user}).

import { $, api, badge, day, fill, h, num, pct, start, table, when } from "./core.js";
import { legend, lineChart } from "./charts.js";
import { filterBar } from "./filters.js";

const TYPES = ["sent", "signed", "declined", "voided", "other"];
const who = $("#user-head").dataset.user;
let filters = null;
let reload = null;

function summary(u) {
  const total = u.timeline.reduce((a, p) => a + TYPES.reduce((b, k) => b + (p[k] || 0), 0), 0);
  const cards = [
    ["events", num(total), total],
    ["tenant", u.tenant || "–", u.tenant],
    ["off-hours share", pct(u.offHoursShare, 0), u.offHoursShare],
    ["countries", num(u.countries.length), u.countries.length],
    ["networks", num(u.networks.length), u.networks.length],
    ["alerts", num(u.alerts.length), u.alerts.length],
  ].map(([label, text, value]) =>
    h("div", { class: "card", dataset: { stat: label, value: value ?? "" } }, h("div", { class: "label" }, label), h("div", { class: "value" }, text)));
  fill("#user-summary", h("h2", { class: "visually-hidden" }, "Summary"), cards);
}

async function load(user) {
  if (!filters) filters = await filterBar(user, () => reload && reload());
  const u = await api(`/monitor/v2/insights/users/${encodeURIComponent(who)}`, { params: filters() });
  summary(u);
  const keys = TYPES.filter((k) => k !== "other" || u.timeline.some((p) => p.other));
  fill("#timeline-chart", u.timeline.length
    ? [lineChart(u.timeline, keys, { from: u.from, to: u.to, label: `Activity of ${who} per ${u.bucket}`, height: 220, width: $("#timeline-chart").clientWidth }), legend(keys)]
    : h("p", { class: "empty" }, "No activity in this range."));
  fill("#timeline-table", table(
    [{ label: "time (UTC)", value: (p) => when(p.t) }, ...keys.map((k) => ({ label: k, num: true, value: (p) => num(p[k]) }))],
    u.timeline, { caption: "Timeline" }));
  fill("#user-countries", table(
    [
      { label: "country", value: (c) => `${c.name || c.country} (${c.country})` },
      { label: "events", num: true, value: (c) => num(c.events) },
      { label: "first seen", value: (c) => day(c.firstSeen) },
    ],
    u.countries, { caption: "Countries", rowAttrs: (c) => ({ dataset: { country: c.country, events: c.events } }) }));
  fill("#user-networks", table(
    [
      { label: "network", value: (n) => [n.network, n.new ? [" ", badge("new")] : null] },
      { label: "country", value: (n) => n.country || "–" },
      { label: "events", num: true, value: (n) => num(n.events) },
      { label: "first seen", value: (n) => day(n.firstSeen) },
    ],
    u.networks, { caption: "Networks", rowAttrs: (n) => ({ class: n.new ? "flagged" : null, dataset: { network: n.network, new: String(!!n.new) } }) }));
  fill("#user-alerts", table(
    [
      { label: "severity", value: (a) => badge(a.severity) },
      { label: "rule", value: (a) => h("a", { href: `/ui/alerts/${encodeURIComponent(a.id)}` }, a.ruleName) },
      { label: "fired", value: (a) => when(a.firedAt) },
      { label: "state", value: (a) => badge(a.state) },
      { label: "what happened", value: (a) => a.explanation || "" },
    ],
    u.alerts, { caption: "Alerts", empty: "No alert about this user in this range.", rowAttrs: (a) => ({ dataset: { alertId: a.id } }) }));
}

reload = await start(load);
