// Exports: start an export job and follow it to its signed download links; the jobs this session may see,
// newest first; forwarders with their lag (POST/GET /monitor/v2/export/jobs, GET /monitor/v2/export/forwarders).

import { $, api, badge, fill, h, num, tenantsFor, setOptions, showError, start, table, when } from "./core.js";

const LIMIT = 50; // the newest jobs listed (each with download links valid for an hour)
let ready = false;
let jobs = [];
let polling = null;

async function refreshJobs() {
  clearTimeout(polling);
  try {
    jobs = (await api("/monitor/v2/export/jobs", { params: { limit: LIMIT } })).data;
  } catch (err) {
    showError("#jobs", err);
    return;
  }
  renderJobs();
  if (jobs.some((j) => j.status === "queued" || j.status === "running")) polling = setTimeout(refreshJobs, 2000);
}

function renderJobs() {
  fill("#jobs", table(
    [
      { label: "job", value: (j) => h("code", {}, j.id) },
      { label: "created", value: (j) => when(j.createdAt) },
      { label: "range", value: (j) => [when(j.from), " – ", when(j.to)] },
      { label: "format", value: (j) => `${j.format}${j.compression === "gzip" ? " (gzip)" : ""}` },
      { label: "tenant", value: (j) => j.tenant || "all", cls: "hide-narrow" },
      { label: "status", value: (j) => [badge(j.status, j.status === "failed" ? "high" : j.status === "done" ? "active" : "shadow"), j.error ? h("div", { class: "error" }, j.error) : null] },
      { label: "records", num: true, value: (j) => num(j.records) },
      { label: "files", value: (j) => j.files.length
        ? h("ul", { class: "plain" }, j.files.map((f) => h("li", {}, f.url ? h("a", { href: f.url, download: f.name }, f.name) : f.name, " ", h("span", { class: "muted" }, `${num(f.bytes)} bytes`))))
        : "–" },
    ],
    jobs,
    { caption: "Export jobs", empty: "No export jobs yet.", rowAttrs: (j) => ({ dataset: { jobId: j.id, status: j.status } }) },
  ));
}

async function forwarders() {
  let list;
  try {
    list = (await api("/monitor/v2/export/forwarders")).data;
  } catch (err) {
    showError("#forwarders", err);
    return;
  }
  fill("#forwarders", table(
    [
      { label: "name", value: (f) => f.name },
      { label: "sink", value: (f) => h("code", {}, f.sink) },
      { label: "format", value: (f) => f.format, cls: "hide-narrow" },
      { label: "tenant", value: (f) => f.tenant || "all", cls: "hide-narrow" },
      { label: "forwarded", num: true, value: (f) => num(f.forwarded) },
      { label: "lag (events)", num: true, value: (f) => num(f.lagEvents) },
      { label: "lag", num: true, value: (f) => `${num(Math.round(f.lagSeconds))} s` },
      { label: "last ok", value: (f) => when(f.lastOkAt) },
      { label: "last error", value: (f) => (f.lastError ? h("span", { class: "error" }, f.lastError) : "–") },
    ],
    list,
    { caption: "Forwarders", empty: "No forwarder has run yet (see docs/forwarding.md).", rowAttrs: (f) => ({ class: f.lastError ? "flagged" : null, dataset: { forwarder: f.name, lag: f.lagEvents } }) },
  ));
}

async function createJob(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const body = { from: form.from.value, to: form.to.value, format: form.format.value, compression: form.compression.value };
  if (form.tenant.value) body.tenant = form.tenant.value;
  try {
    const job = await api("/monitor/v2/export/jobs", { method: "POST", body });
    fill("#job-message", h("span", { class: "message-ok" }, `Job ${job.id} queued.`));
    await refreshJobs();
  } catch (err) {
    showError("#job-message", err);
  }
}

async function load(me) {
  if (!ready) {
    ready = true;
    setOptions($("#job-tenant"), await tenantsFor(me));
    const today = new Date().toISOString().slice(0, 10);
    $("#job-to").value = today;
    $("#job-from").value = new Date(Date.now() - 7 * 864e5).toISOString().slice(0, 10);
  }
  await Promise.all([refreshJobs(), forwarders()]);
}

$("#job-form").addEventListener("submit", createJob);
await start(load);
