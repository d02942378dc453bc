// Charts as plain SVG built from the JSON: every point, bar and mark is an element carrying its numbers in
// data-* attributes (what the browser tests read) and a <title> (what a pointer shows). Each chart has an
// aria-label summary; the pages put a table beside it as the text alternative.

import { num } from "./core.js";

const NS = "http://www.w3.org/2000/svg";

export function s(tag, attrs, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const title = (text) => s("title", {}, text);

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function yTicks(max) {
  const n = [4, 5, 3, 2].find((k) => max < 1 || Number.isInteger(max / k)) || 4;
  return Array.from({ length: n + 1 }, (_, i) => (max * i) / n);
}

const DAY = 864e5;
function timeLabel(t, span) {
  const d = new Date(t);
  if (span <= 2 * DAY) return d.toISOString().slice(11, 16);
  return d.toLocaleDateString("en-GB", { day: "2-digit", month: "short", timeZone: "UTC" });
}

function timeTicks(t0, t1, n) {
  const span = t1 - t0;
  const steps = [36e5, 3 * 36e5, 6 * 36e5, 12 * 36e5, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 61 * DAY];
  const step = steps.find((st) => span / st <= n) || span / n;
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return out;
}

function frame(width, height, label) {
  return s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, preserveAspectRatio: "xMinYMin meet" });
}

function axes(svg, { x0, x1, y0, y1, t0, t1, max, ticks = true, yFormat = (v) => num(Math.round(v * 1000) / 1000) }) {
  const grid = s("g", { class: "grid" });
  const axis = s("g", { class: "axis" });
  for (const v of yTicks(max)) {
    const y = y1 - ((y1 - y0) * v) / max;
    grid.append(s("line", { x1: x0, x2: x1, y1: y, y2: y }));
    axis.append(s("text", { x: x0 - 6, y: y + 4, "text-anchor": "end" }, yFormat(v)));
  }
  if (ticks) {
    for (const t of timeTicks(t0, t1, Math.max(3, Math.floor((x1 - x0) / 100)))) {
      const x = x0 + ((x1 - x0) * (t - t0)) / Math.max(t1 - t0, 1);
      axis.append(s("line", { x1: x, x2: x, y1: y1, y2: y1 + 4 }));
      axis.append(s("text", { x, y: y1 + 16, "text-anchor": "middle" }, timeLabel(t, t1 - t0)));
    }
  }
  svg.append(grid, axis);
}

// Several series over time: points [{t, key1, key2...}], one <path class="series key"> and one
// <circle class="pt key" data-t data-value> per point and series.
export function lineChart(points, keys, { from, to, label = "Chart", height = 260, width = 900 } = {}) {
  const W = Math.max(320, Math.round(width));
  const H = W < 600 ? Math.round(height * 0.8) : height;
  const m = { l: 52, r: 14, t: 10, b: 26 };
  const ts = points.map((p) => Date.parse(p.t));
  const t0 = from ? Date.parse(from) : Math.min(...ts);
  const t1 = to ? Date.parse(to) : Math.max(...ts);
  const max = niceMax(Math.max(0, ...points.flatMap((p) => keys.map((k) => p[k] || 0))));
  const totals = Object.fromEntries(keys.map((k) => [k, points.reduce((a, p) => a + (p[k] || 0), 0)]));
  const svg = frame(W, H, `${label}: ${keys.map((k) => `${k} ${num(totals[k])}`).join(", ")}`);
  const x = (t) => m.l + ((W - m.l - m.r) * (t - t0)) / Math.max(t1 - t0, 1);
  const y = (v) => H - m.b - ((H - m.t - m.b) * v) / max;
  axes(svg, { x0: m.l, x1: W - m.r, y0: m.t, y1: H - m.b, t0, t1, max });
  const dense = points.length > 120;
  for (const k of keys) {
    const d = points.map((p, i) => `${i ? "L" : "M"}${x(ts[i]).toFixed(1)} ${y(p[k] || 0).toFixed(1)}`).join("");
    const g = s("g", { class: `chart-series ${k}`, dataset: { series: k, total: totals[k], points: points.length } });
    g.append(s("path", { class: `series ${k}`, d }));
    points.forEach((p, i) => {
      g.append(
        s(
          "circle",
          { class: `pt ${k}`, cx: x(ts[i]).toFixed(1), cy: y(p[k] || 0).toFixed(1), r: dense ? 0 : 2.5,
            dataset: { series: k, t: p.t, value: p[k] || 0 } },
          title(`${p.t} ${k}: ${num(p[k] || 0)}`),
        ),
      );
    });
    svg.append(g);
  }
  return svg;
}

export function legend(keys) {
  const p = document.createElement("p");
  p.className = "legend";
  for (const k of keys) {
    const span = document.createElement("span");
    const key = document.createElement("span");
    key.className = `key ${k}`;
    span.append(key, k);
    p.append(span);
  }
  return p;
}

// A rate against its baseline: a bar for the value, a tick for the baseline.
export function rateBar(name, value, baseline) {
  const W = 300;
  const max = niceMax(Math.max(value || 0, baseline || 0, 0.0001) * 1.15);
  const svg = frame(W, 26, `${name} rate ${value === null ? "unknown" : (value * 100).toFixed(1) + " %"}, baseline ${baseline === null || baseline === undefined ? "unknown" : (baseline * 100).toFixed(1) + " %"}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.dataset.rate = name;
  svg.dataset.value = value ?? "";
  svg.dataset.baseline = baseline ?? "";
  svg.append(s("rect", { x: 0, y: 6, width: W, height: 14, fill: "#eef1f5" }));
  svg.append(s("rect", { class: "bar-observed", x: 0, y: 6, width: (W * (value || 0)) / max, height: 14 }));
  if (baseline !== null && baseline !== undefined) {
    const bx = (W * baseline) / max;
    svg.append(s("rect", { x: bx - 1.5, y: 1, width: 3, height: 24, fill: "#1b1f24" }, title(`baseline ${(baseline * 100).toFixed(2)} %`)));
  }
  return svg;
}

// Observed against threshold / expected (and the normal band): horizontal bars with their values.
export function evidenceChart(alert) {
  const rows = [["observed", alert.value, "bar-observed"]];
  if (alert.threshold !== null && alert.threshold !== undefined) rows.push(["threshold", alert.threshold, "bar-threshold"]);
  if (alert.expected !== null && alert.expected !== undefined) rows.push(["expected", alert.expected, "bar-expected"]);
  const band = alert.band;
  const W = 440;
  const m = { l: 80, r: 60, t: 8 };
  const rowH = 30;
  const H = m.t + rows.length * rowH + 8;
  const max = niceMax(Math.max(...rows.map((r) => r[1] || 0), band ? band.upper : 0) * 1.05);
  const fmt = (v) => (Math.abs(v) < 10 && v % 1 ? v.toFixed(3) : num(Math.round(v * 10) / 10));
  const summary = rows.map(([k, v]) => `${k} ${fmt(v || 0)}`).join(", ");
  const svg = frame(W, H, `Observed vs expected: ${summary}${band ? `, normal band ${fmt(band.lower)} to ${fmt(band.upper)}` : ""}`);
  const x = (v) => m.l + ((W - m.l - m.r) * v) / max;
  if (band) {
    svg.append(
      s("rect", { class: "band", x: x(band.lower), y: m.t, width: Math.max(x(band.upper) - x(band.lower), 1), height: rows.length * rowH,
        dataset: { kind: "band", lower: band.lower, upper: band.upper } }, title(`normal band ${fmt(band.lower)} to ${fmt(band.upper)}`)),
    );
  }
  rows.forEach(([k, v, cls], i) => {
    const y = m.t + i * rowH + 5;
    const g = s("g", { class: "axis" });
    g.append(s("text", { x: m.l - 8, y: y + 14, "text-anchor": "end" }, k));
    g.append(s("text", { x: x(v || 0) + 6, y: y + 14 }, fmt(v || 0)));
    svg.append(s("rect", { class: cls, x: m.l, y, width: Math.max(x(v || 0) - m.l, 1), height: 18, dataset: { kind: k, value: v } }, title(`${k}: ${fmt(v || 0)}`)));
    svg.append(g);
  });
  svg.append(s("g", { class: "axis" }, s("line", { x1: m.l, x2: m.l, y1: m.t, y2: m.t + rows.length * rowH })));
  return svg;
}

// Event counts per bucket over [from, to], with the alert's window shaded.
export function activityChart(counts, { from, to, windowStart, windowEnd, label }) {
  const W = 440;
  const H = 180;
  const m = { l: 40, r: 10, t: 10, b: 26 };
  const t0 = Date.parse(from);
  const t1 = Date.parse(to);
  const max = niceMax(Math.max(1, ...counts.map((c) => c.count)));
  const total = counts.reduce((a, c) => a + c.count, 0);
  const svg = frame(W, H, `${label}: ${total} events`);
  const x = (t) => m.l + ((W - m.l - m.r) * (t - t0)) / Math.max(t1 - t0, 1);
  const y = (v) => H - m.b - ((H - m.t - m.b) * v) / max;
  if (windowStart && windowEnd) {
    svg.append(s("rect", { class: "window", x: x(Date.parse(windowStart)), y: m.t, width: Math.max(x(Date.parse(windowEnd)) - x(Date.parse(windowStart)), 1), height: H - m.t - m.b }, title("the alert's window")));
  }
  axes(svg, { x0: m.l, x1: W - m.r, y0: m.t, y1: H - m.b, t0, t1, max });
  const bw = counts.length ? Math.max(((W - m.l - m.r) / counts.length) * 0.8, 1) : 1;
  for (const c of counts) {
    const t = Date.parse(c.t);
    svg.append(s("rect", { class: "activity", x: x(t), y: y(c.count), width: bw, height: H - m.b - y(c.count), dataset: { t: c.t, count: c.count } }, title(`${c.t}: ${c.count}`)));
  }
  return svg;
}

// Alerts on a time axis, one lane per (tenant, group): each a <rect class="mark" data-fired-at data-alert-id>.
export function timelineChart(alerts, { from, to, label = "Alerts", width = 900 }) {
  const W = Math.max(320, Math.round(width));
  const lanes = [];
  for (const a of alerts) {
    const key = `${a.tenant} · ${a.groupKey}`;
    if (!lanes.includes(key)) lanes.push(key);
  }
  const shown = lanes.slice(0, 12);
  const laneH = 24;
  const m = { l: W < 600 ? 110 : 190, r: 14, t: 6, b: 26 };
  const H = m.t + Math.max(shown.length, 1) * laneH + m.b;
  const t0 = Date.parse(from);
  const t1 = Date.parse(to);
  const svg = frame(W, H, `${label}: ${alerts.length} alert${alerts.length === 1 ? "" : "s"} between ${from} and ${to}`);
  svg.dataset.count = alerts.length;
  const x = (t) => m.l + ((W - m.l - m.r) * (Math.min(Math.max(t, t0), t1) - t0)) / Math.max(t1 - t0, 1);
  axes(svg, { x0: m.l, x1: W - m.r, y0: m.t, y1: H - m.b, t0, t1, max: 1, yFormat: () => "" });
  const axis = s("g", { class: "axis" });
  shown.forEach((key, i) => {
    const room = W < 600 ? 16 : 30;
    const text = key.length > room ? `${key.slice(0, room - 1)}…` : key;
    axis.append(s("text", { x: m.l - 8, y: m.t + i * laneH + 14, "text-anchor": "end" }, text));
  });
  svg.append(axis);
  for (const a of alerts) {
    const lane = shown.indexOf(`${a.tenant} · ${a.groupKey}`);
    const fired = Date.parse(a.firedAt);
    const end = a.resolvedAt ? Date.parse(a.resolvedAt) : t1;
    const y = m.t + (lane < 0 ? shown.length - 1 : lane) * laneH + 3;
    svg.append(
      s("rect", { class: `mark ${a.state}`, x: x(fired), y, width: Math.max(x(end) - x(fired), 6), height: laneH - 8, rx: 2,
        dataset: { alertId: a.id, firedAt: a.firedAt, group: a.groupKey, tenant: a.tenant } },
        title(`${a.firedAt} ${a.tenant} ${a.groupKey}: ${a.explanation || ""}`)),
    );
  }
  return svg;
}
