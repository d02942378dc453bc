// Overview: signing volume over time by event type, the rates against their baselines, open alerts, and the
// split by tenant and business unit (GET /monitor/v2/insights/overview).

import { $, api, badge, fill, h, num, pct, start, table, when } from "./core.js";
import { legend, lineChart, rateBar } from "./charts.js";
import { filterBar, offerTenants, rememberUnits } from "./filters.js";

const TYPES = ["sent", "signed", "declined", "voided"];
let filters = null;
let reload = null;

function totals(t) {
  const cards = [...TYPES, "events"].map((k) =>
    h("div", { class: `card ${k}`, dataset: { total: k, value: t[k] ?? 0 } },
      h("div", { class: "label" }, k === "events" ? "all events" : k),
      h("div", { class: "value" }, num(t[k] ?? 0))),
  );
  fill("#totals", h("h2", { id: "totals-h", class: "visually-hidden" }, "Totals"), cards);
}

function volume(o) {
  fill("#volume-chart",
    o.series.length
      ? [lineChart(o.series, TYPES, { from: o.from, to: o.to, label: `Signing volume per ${o.bucket}`, width: $("#volume-chart").clientWidth }), legend(TYPES)]
      : h("p", { class: "empty" }, "No signing activity in this range."));
  fill("#volume-table", table(
    [{ label: "time (UTC)", value: (p) => when(p.t) }, ...TYPES.map((k) => ({ label: k, num: true, value: (p) => num(p[k]) }))],
    o.series,
    { caption: "Signing volume" },
  ));
}

const RATE_NAMES = { void: "Void rate", decline: "Decline rate", completion: "Completion rate" };

function rates(r) {
  fill("#rates", h("div", { class: "rates" }, Object.entries(RATE_NAMES).map(([k, label]) => {
    const { value = null, baseline = null } = r[k] || {};
    const worse = value !== null && baseline !== null && (k === "completion" ? value < baseline * 0.8 : value > baseline * 1.5);
    return h("div", { class: worse ? "rate worse" : "rate", dataset: { rate: k, value: value ?? "", baseline: baseline ?? "" } },
      h("div", { class: "head" },
        h("span", {}, label),
        h("span", {}, h("strong", { class: worse ? "up" : null }, pct(value)), " ",
          h("span", { class: "muted" }, `baseline ${pct(baseline)}`))),
      rateBar(k, value, baseline));
  })));
}

function openAlerts(a) {
  const sev = ["critical", "high", "medium", "low"];
  fill("#open-alerts",
    h("p", { class: "lead" }, h("strong", { dataset: { openTotal: a.total } }, num(a.total)), " open"),
    h("div", { class: "sev-counts" }, sev.map((s) =>
      h("a", { href: `/ui/alerts?severity=${s}`, dataset: { severity: s, count: a.bySeverity[s] || 0 } },
        badge(`${num(a.bySeverity[s] || 0)} ${s}`, s)))),
    a.latest.length
      ? h("ul", { class: "plain" }, a.latest.map((x) => h("li", {},
        badge(x.severity), " ", h("a", { href: `/ui/alerts/${encodeURIComponent(x.id)}` }, x.ruleName), " ",
        h("span", { class: "muted" }, `${x.tenant} · ${x.groupKey} · `), when(x.firedAt))))
      : h("p", { class: "empty" }, "No open alerts."),
    h("p", {}, h("a", { href: "/ui/alerts" }, "All alerts →")));
}

function link(params) {
  const q = new URLSearchParams({ ...filters(), ...params });
  return `/ui/?${q}`;
}

function splits(o) {
  const cols = TYPES.map((k) => ({ label: k, num: true, value: (r) => num(r[k]) }));
  fill("#tenants", table(
    [{ label: "tenant", value: (r) => h("a", { href: link({ tenant: r.tenant, businessUnit: "" }) }, r.tenant) }, ...cols],
    o.tenants, { caption: "By tenant", rowAttrs: (r) => ({ dataset: { tenant: r.tenant, sent: r.sent } }) }));
  fill("#units", table(
    [{ label: "tenant", value: (r) => r.tenant },
      { label: "business unit", value: (r) => h("a", { href: link({ tenant: r.tenant, businessUnit: r.businessUnit }) }, r.businessUnit || "(none)") },
      ...cols],
    o.businessUnits, { caption: "By business unit", rowAttrs: (r) => ({ dataset: { unit: r.businessUnit, sent: r.sent } }) }));
}

async function load(user) {
  if (!filters) filters = await filterBar(user, () => reload && reload());
  const o = await api("/monitor/v2/insights/overview", { params: filters() });
  rememberUnits(o.businessUnits || []);
  offerTenants(user, o.tenants.map((t) => t.tenant));
  totals(o.totals);
  volume(o);
  rates(o.rates);
  openAlerts(o.openAlerts);
  splits(o);
  $("#main").dataset.from = o.from;
}

reload = await start(load);
