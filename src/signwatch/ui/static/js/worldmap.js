// The world map: country shapes shipped in the package (static/world.json, built by
// scripts/build_world_map.py from Natural Earth), shaded by activity; countries new in the range outlined.

import { num } from "./core.js";
import { s } from "./charts.js";

let shapes = null;

async function load() {
  if (!shapes) {
    const base = document.body.dataset.static;
    const resp = await fetch(`${base}/world.json`, { credentials: "same-origin" });
    shapes = await resp.json();
  }
  return shapes;
}

// Sequential blues on a log scale (classes step-0 … step-4 in app.css); five steps.
const STEPS = [0, 1, 2, 3, 4];

function step(events, max) {
  if (!events) return null;
  const i = Math.floor((Math.log(events + 1) / Math.log(max + 1)) * STEPS.length);
  return Math.min(i, STEPS.length - 1);
}

export function mapName(code) {
  return shapes && (shapes.countries[code] || shapes.dots[code] || {}).name;
}

// countries: [{country, name, events, users, new}]; onPick(code) when a country is clicked or chosen by key.
export async function worldMap(countries, { onPick } = {}) {
  const world = await load();
  const byCode = Object.fromEntries(countries.map((c) => [c.country, c]));
  const max = Math.max(1, ...countries.map((c) => c.events || 0));
  const [x, y, w, hgt] = world.viewBox;
  const total = countries.reduce((a, c) => a + (c.events || 0), 0);
  const svg = s("svg", {
    viewBox: `${x} ${y} ${w} ${hgt}`, role: "img",
    "aria-label": `World map of activity: ${countries.length} countries, ${num(total)} events; the table lists them`,
  });
  const g = s("g", {});
  for (const [code, shape] of Object.entries(world.countries)) {
    const c = byCode[code];
    const attrs = { d: shape.d, dataset: { country: code } };
    if (c) {
      const i = step(c.events, max);
      Object.assign(attrs, { class: `step-${i}${c.new ? " new" : ""}`, dataset: { country: code, events: c.events, new: String(!!c.new) } });
    }
    const path = s("path", attrs, s("title", {}, c ? `${c.name || shape.name}: ${num(c.events)} events${c.new ? " (new)" : ""}` : shape.name));
    if (c && onPick) path.addEventListener("click", () => onPick(code));
    g.append(path);
  }
  svg.append(g);
  // Countries too small for the 1:110m shapes, or absent from them: a dot.
  for (const c of countries) {
    if (world.countries[c.country]) continue;
    const dot = world.dots[c.country];
    if (!dot) continue;
    const i = step(c.events, max);
    const circle = s(
      "circle",
      { cx: dot.x, cy: dot.y, r: 4, class: `step-${i}${c.new ? " new" : ""}`, dataset: { country: c.country, events: c.events, new: String(!!c.new) } },
      s("title", {}, `${c.name || dot.name}: ${num(c.events)} events${c.new ? " (new)" : ""}`),
    );
    if (onPick) circle.addEventListener("click", () => onPick(c.country));
    svg.append(circle);
  }
  return { svg, max, steps: STEPS };
}

export function onMap(code) {
  return !!shapes && !!(shapes.countries[code] || shapes.dots[code]);
}
