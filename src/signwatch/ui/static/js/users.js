// Users: top senders and signers with their off-hours share, countries and networks; users a rule fired on
// are highlighted with the rule that flagged them (GET /monitor/v2/insights/users).

import { api, badge, fill, h, num, pct, start, table, userLink } from "./core.js";
import { filterBar } from "./filters.js";

let filters = null;
let reload = null;

function flags(list) {
  return (list || []).map((f) =>
    h("a", { class: "flag", href: `/ui/alerts/${encodeURIComponent(f.alertId)}`, title: `fired ${f.firedAt}`, dataset: { ruleId: f.ruleId } },
      badge(f.ruleName, f.severity)));
}

// A count, or a list shown by its first few entries (the full list in the tooltip).
function several(v) {
  if (!Array.isArray(v)) return num(v);
  const names = v.map((x) => (typeof x === "string" ? x : x.country || x.network || JSON.stringify(x)));
  const text = names.length > 3 ? `${names.slice(0, 3).join(", ")} +${names.length - 3}` : names.join(", ");
  return h("span", { title: names.join(", "), dataset: { count: names.length } }, text || "–");
}

function users(rows, caption, main) {
  const max = Math.max(1, ...rows.map((r) => r[main] ?? r.events));
  return table(
    [
      { label: "user", value: (r) => [userLink(r.user), h("div", { class: "muted" }, r.tenant)] },
      { label: main, num: true, value: (r) => {
        const bar = h("span", { class: "bar" });
        bar.style.width = `${Math.round((100 * (r[main] ?? r.events)) / max)}%`;
        return [num(r[main] ?? r.events), bar];
      } },
      { label: "events", num: true, value: (r) => num(r.events), cls: "hide-narrow" },
      { label: "off hours", num: true, value: (r) => pct(r.offHoursShare, 0) },
      { label: "countries", value: (r) => several(r.countries) },
      { label: "networks", num: true, value: (r) => several(r.networks), cls: "hide-narrow" },
      { label: "flagged by", value: (r) => flags(r.flags) },
    ],
    rows,
    { caption, empty: "Nobody in this range.",
      rowAttrs: (r) => ({ class: r.flags && r.flags.length ? "flagged" : null,
        dataset: { user: r.user, events: r.events, flagged: String(!!(r.flags && r.flags.length)) } }) },
  );
}

async function load(user) {
  if (!filters) filters = await filterBar(user, () => reload && reload());
  const u = await api("/monitor/v2/insights/users", { params: filters() });
  fill("#senders", users(u.senders, "Top senders", "sent"));
  fill("#signers", users(u.signers, "Top signers", "signed"));
}

reload = await start(load);
