// Rules: every rule the user may see, with shadow → active promotion (GET/PATCH /monitor/v2/alert/rules).

import { $, api, badge, can, fill, h, showError, start, table, when } from "./core.js";

let user = null;

function params(r) {
  const p = [];
  if (r.kind === "threshold") p.push(`≥ ${r.threshold} in ${r.windowMinutes} min`);
  if (r.kind === "ratio") p.push(`/ ${r.denominator} > ${r.factor}× baseline`);
  if (r.kind === "stuck") p.push(`SLA ${r.slaMinutes} min`);
  if (r.kind === "new_network") p.push(`${r.network}, new to ${r.newTo}`);
  if (r.kind === "anomaly") p.push(`sensitivity ${r.sensitivity}`);
  if (r.kind === "flatline") p.push(`silent ${r.windowMinutes} min`);
  return p.join(", ");
}

async function promote(rule, button) {
  button.disabled = true;
  try {
    await api(`/monitor/v2/alert/rules/${encodeURIComponent(rule.id)}`, { method: "PATCH", body: { mode: "active" } });
    fill("#rules-message", h("span", { class: "message-ok" }, `${rule.name} is active: its alerts now notify.`));
    await load(user);
  } catch (err) {
    showError("#rules-message", err);
    button.disabled = false;
  }
}

async function load(me) {
  user = me;
  const rules = (await api("/monitor/v2/alert/rules")).data.sort((a, b) => a.name.localeCompare(b.name));
  const writer = can(me, "rules:write");
  fill("#rule-list", table(
    [
      { label: "name", value: (r) => h("a", { href: `/ui/rules/${encodeURIComponent(r.id)}` }, r.name) },
      { label: "kind", value: (r) => r.kind },
      { label: "condition", value: (r) => [h("code", {}, r.condition), h("div", { class: "muted" }, params(r))] },
      { label: "tenant", value: (r) => r.tenant || "all", cls: "hide-narrow" },
      { label: "group by", value: (r) => r.groupBy, cls: "hide-narrow" },
      { label: "severity", value: (r) => badge(r.severity) },
      { label: "mode", value: (r) => [badge(r.mode), r.enabled ? null : [" ", badge("disabled", "shadow")]] },
      { label: "updated", value: (r) => when(r.updatedAt), cls: "hide-narrow" },
      { label: "", value: (r) => writer && r.mode === "shadow"
        ? h("button", { type: "button", class: "promote", dataset: { ruleId: r.id }, "aria-label": `Promote ${r.name} to active`,
          onclick: (event) => promote(r, event.currentTarget) }, "Promote")
        : null },
    ],
    rules,
    { caption: "Rules", empty: "No rules yet.", rowAttrs: (r) => ({ dataset: { ruleId: r.id, mode: r.mode, kind: r.kind } }) },
  ));
  $("#new-rule").hidden = !writer;
}

await start(load);
