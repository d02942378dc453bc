// The filter bar of the insight pages (range, tenant, business unit): kept in the URL, offered from what the
// user may see, and a reload of the page's data on every change.

import { $, knownTenants, readFilters, setOptions, tenantsFor, values, writeFilters } from "./core.js";

let units = JSON.parse(sessionStorage.getItem("signwatch.units") || "[]");

export function rememberUnits(list) {
  units = list.map((u) => [u.tenant, u.businessUnit]).filter(([, bu]) => bu);
  sessionStorage.setItem("signwatch.units", JSON.stringify(units));
}

export function offerTenants(user, seen = []) {
  const select = $("#f-tenant");
  if (select) setOptions(select, knownTenants(user, seen));
  offerUnits();
}

function offerUnits() {
  const select = $("#f-bu");
  if (!select) return;
  const tenant = $("#f-tenant").value;
  const names = [...new Set(units.filter(([t]) => !tenant || t === tenant).map(([, bu]) => bu))].sort();
  setOptions(select, names);
}

// Wires the bar; returns a function giving the current filters as API parameters.
export async function filterBar(user, reload) {
  const form = $("#filters");
  readFilters(form);
  await tenantsFor(user);
  units = JSON.parse(sessionStorage.getItem("signwatch.units") || "[]");
  offerTenants(user);
  readFilters(form);
  form.addEventListener("change", (event) => {
    if (event.target.name === "tenant") {
      offerUnits();
      const bu = $("#f-bu");
      if (bu) bu.value = "";
    }
    writeFilters(values(form));
    reload();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  return () => values(form);
}
