// Geography: activity by country on the shipped world map, with countries and networks new in the range
// flagged, and the same as tables (GET /monitor/v2/insights/geography).

import { $, api, badge, day, fill, h, num, start, table } from "./core.js";
import { filterBar } from "./filters.js";
import { worldMap } from "./worldmap.js";

let filters = null;
let reload = null;
let allNetworks = false;
const NETWORKS = 25;

function pick(code) {
  const row = document.querySelector(`#countries tr[data-country="${code}"]`);
  if (row) {
    row.scrollIntoView({ block: "nearest" });
    row.querySelector("th, td").focus();
  }
}

async function load(user) {
  if (!filters) filters = await filterBar(user, () => reload && reload());
  const g = await api("/monitor/v2/insights/geography", { params: filters() });
  const countries = [...g.countries].sort((a, b) => b.events - a.events);
  const { svg, max, steps } = await worldMap(countries, { onPick: pick });
  fill("#map", svg);
  const fresh = countries.filter((c) => c.new).length;
  fill("#map-legend",
    h("span", {}, "fewer"), steps.map((i) => h("span", { class: `key swatch step-${i}` })), h("span", {}, `more (up to ${num(max)} events)`),
    h("span", {}, h("span", { class: "key new" }), `outlined: new in this range (${fresh})`));
  fill("#countries", table(
    [
      { label: "country", value: (c) => [h("span", { tabindex: "-1" }, `${c.name || c.country} (${c.country})`), c.new ? [" ", badge("new")] : null] },
      { label: "events", num: true, value: (c) => num(c.events) },
      { label: "users", num: true, value: (c) => num(c.users) },
      { label: "first seen", value: (c) => day(c.firstSeen), cls: "hide-narrow" },
    ],
    countries,
    { caption: "Countries", empty: "No located activity in this range.",
      rowAttrs: (c) => ({ class: c.new ? "flagged" : null, dataset: { country: c.country, events: c.events, new: String(!!c.new) } }) },
  ));
  const networks = [...g.networks].sort((a, b) => Number(b.new) - Number(a.new) || b.events - a.events);
  fill("#networks", table(
    [
      { label: "network", value: (n) => [n.network, n.new ? [" ", badge("new")] : null] },
      { label: "AS", value: (n) => n.asnName || n.asn || "–" },
      { label: "country", value: (n) => n.country || "–" },
      { label: "events", num: true, value: (n) => num(n.events) },
      { label: "users", num: true, value: (n) => num(n.users) },
      { label: "first seen", value: (n) => day(n.firstSeen) },
    ],
    allNetworks ? networks : networks.slice(0, NETWORKS),
    { caption: "Networks", empty: "No networks in this range.",
      rowAttrs: (n) => ({ class: n.new ? "flagged" : null, dataset: { network: n.network, events: n.events, new: String(!!n.new) } }) },
  ));
  if (networks.length > NETWORKS && !allNetworks) {
    $("#networks").append(h("p", {}, h("button", { type: "button", onclick: () => { allNetworks = true; reload(); } },
      `Show all ${num(networks.length)} networks`)));
  }
  $("#main").dataset.from = g.from;
}

reload = await start(load);
