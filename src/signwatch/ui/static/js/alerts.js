// Alerts: the triage list, newest first, filtered by range, state, severity, rule and tenant
// (GET /monitor/v2/alerts, paged by cursor).

import { $, RANGES, api, badge, fill, h, isoAgo, knownTenants, num, readFilters, tenantsFor, setOptions, start, table, values, when, writeFilters } from "./core.js";

const PAGE = 100;
const MAX_PAGES = 5;
let shown = PAGE;
let alerts = [];
let wired = false;
let reload = null;

async function fetchAll(f) {
  const state = f.state === "any" ? "" : f.state;
  const params = { from: isoAgo(RANGES[f.range || "30d"]), state, severity: f.severity, ruleId: f.ruleId, tenant: f.tenant, limit: 1000 };
  const out = [];
  let more = false;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api("/monitor/v2/alerts", { params });
    out.push(...page.data);
    more = page.hasMore;
    if (!more) break;
    params.cursor = page.endCursor;
  }
  return { list: out.sort((a, b) => b.firedAt.localeCompare(a.firedAt) || a.id.localeCompare(b.id)), truncated: more };
}

function render(truncated) {
  const rows = alerts.slice(0, shown);
  fill("#alert-count", `(${num(alerts.length)}${truncated ? "+" : ""})`);
  fill("#alert-list", table(
    [
      { label: "severity", value: (a) => badge(a.severity) },
      { label: "rule", value: (a) => [h("a", { href: `/ui/alerts/${encodeURIComponent(a.id)}` }, a.ruleName), a.mode === "shadow" ? [" ", badge("shadow")] : null] },
      { label: "fired", value: (a) => when(a.firedAt) },
      { label: "tenant", value: (a) => a.tenant },
      { label: "group", value: (a) => a.groupKey },
      { label: "state", value: (a) => badge(a.state) },
      { label: "what happened", value: (a) => a.explanation || "", cls: "hide-narrow" },
    ],
    rows,
    { caption: "Alerts", empty: "No alert matches these filters.",
      rowAttrs: (a) => ({ dataset: { alertId: a.id, state: a.state, severity: a.severity, tenant: a.tenant, ruleId: a.ruleId } }) },
  ));
  $("#more").hidden = alerts.length <= shown;
}

async function wire(user) {
  const form = $("#filters");
  setOptions($("#f-tenant"), await tenantsFor(user));
  try {
    const rules = await api("/monitor/v2/alert/rules");
    setOptions($("#f-rule"), rules.data.map((r) => [r.id, r.name]).sort((a, b) => a[1].localeCompare(b[1])));
  } catch {
    // rule names are a convenience: the list loads without them
  }
  readFilters(form);
  form.addEventListener("change", () => {
    writeFilters(values(form));
    shown = PAGE;
    reload();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  $("#more").addEventListener("click", () => {
    shown += PAGE;
    render(false);
  });
  wired = true;
}

async function load(user) {
  if (!wired) await wire(user);
  const f = values($("#filters"));
  const { list, truncated } = await fetchAll(f);
  alerts = list;
  setOptions($("#f-tenant"), knownTenants(user, list.map((a) => a.tenant)));
  render(truncated);
}

reload = await start(load);
