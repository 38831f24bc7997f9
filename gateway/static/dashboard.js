// The GSP sandbox dashboard: polls GET /dashboard/state every second and redraws.
// Polling rather than EventSource: it can send an admin token (GSP_DASHBOARD_PUBLIC=false,
// token in the URL fragment: /dashboard#token=...) and holds no connection open that would
// keep a stopping platform waiting.
"use strict";

const POLL_MS = 1000;
const RECENT = 20;
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? { Authorization: `Bearer ${token}` } : {};
let graphFingerprint = null;
const filterInput = document.getElementById("filter");

const HEALTH_TEXT = { healthy: "healthy", down: "down", unknown: "not checked yet" };

function healthClass(healthy) {
  return healthy === null || healthy === undefined ? "unknown" : healthy ? "healthy" : "down";
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "—" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function badge(row, health) {
  const td = cell(row, "", "health");
  const span = document.createElement("span");
  span.className = `badge ${health}`;
  span.textContent = HEALTH_TEXT[health];
  td.appendChild(span);
}

function fixed(value, digits) {
  return value === null || value === undefined ? null : Number(value).toFixed(digits);
}

function replaceRows(table, rows) {
  const body = document.querySelector(`${table} tbody`);
  body.replaceChildren(...rows);
}

function serviceKey(code, version) {
  return `${code ?? ""} ${version ?? ""}`;
}

function renderServices(state) {
  const report = state.report;
  const metrics = new Map(state.metrics.map((m) => [serviceKey(m.service, m.version), m]));
  const groups = [report.national, report.intra].filter(Boolean);
  const rows = [];
  for (const service of groups.flatMap((g) => g.services)) {
    const key = serviceKey(service.code, service.version);
    rows.push(serviceRow(service.code, service.version, service.title, service.tier,
      healthClass(service.healthy), metrics.get(key)));
    metrics.delete(key);
  }
  // Traffic for anything else: documents, tokens and calls that matched no service.
  for (const m of metrics.values()) {
    const title = m.service === null ? "tokens and calls matching no service" : "";
    rows.push(serviceRow(m.service ?? "—", m.version, title, "", null, m));
  }
  replaceRows("#services", rows);
}

function serviceRow(code, version, title, tier, health, m) {
  const tr = document.createElement("tr");
  tr.dataset.code = code;
  if (version) tr.dataset.version = version;
  if (health) tr.dataset.health = health;
  cell(tr, version ? `${code} ${version}` : code, "mono");
  cell(tr, title);
  cell(tr, tier);
  if (health) badge(tr, health); else cell(tr, "");
  cell(tr, fixed(m?.rate_per_second ?? 0, 2), "num rate");
  cell(tr, m?.requests ?? 0, "num requests");
  cell(tr, m?.errors ?? 0, "num errors");
  cell(tr, m?.client_errors ?? 0, "num client-errors");
  cell(tr, m && m.requests ? `${(m.error_rate * 100).toFixed(1)} %` : null, "num error-rate");
  cell(tr, fixed(m?.p50_ms, 1), "num p50");
  cell(tr, fixed(m?.p95_ms, 1), "num p95");
  cell(tr, m?.total_requests ?? 0, "num total");
  return tr;
}

function renderProvinces(report) {
  const section = document.getElementById("provinces-section");
  section.hidden = !report.downstream;
  if (!report.downstream) return;
  replaceRows("#provinces", report.downstream.platforms.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.platform = p.name;
    tr.dataset.health = healthClass(p.healthy);
    cell(tr, p.name, "mono");
    cell(tr, p.title);
    badge(tr, healthClass(p.healthy));
    cell(tr, p.checked_at ? new Date(p.checked_at).toLocaleTimeString() : null);
    return tr;
  }));
}

function renderRecent(recent) {
  replaceRows("#recent", recent.map((e) => {
    const tr = document.createElement("tr");
    tr.dataset.messageId = e.message_id;
    if (e.status >= 500) tr.className = "failed";
    cell(tr, new Date(e.time).toLocaleTimeString());
    cell(tr, e.message_id, "mono message-id");
    // A platform relaying its own consumer's call (LGSP at NGSP) names it as the origin.
    const relayed = e.origin_consumer && e.origin_consumer !== e.consumer;
    cell(tr, relayed ? `${e.consumer} for ${e.origin_consumer}` : e.consumer);
    cell(tr, e.service ? `${e.service}${e.version ? " " + e.version : ""}` : null, "mono");
    cell(tr, e.method);
    cell(tr, e.status, "num status");
    cell(tr, fixed(e.duration_ms, 1), "num");
    cell(tr, e.outcome);
    return tr;
  }));
}

function fingerprint(report) {
  const services = [report.national, report.intra].filter(Boolean).flatMap((g) => g.services);
  const platforms = [report.upstream, ...(report.downstream?.platforms ?? [])].filter(Boolean);
  return JSON.stringify([
    services.map((s) => [s.code, s.version, s.healthy]),
    platforms.map((p) => [p.name, p.healthy]),
  ]);
}

async function refreshGraph(report) {
  const print = fingerprint(report);
  if (print === graphFingerprint) return;
  const response = await fetch("/dashboard/graph.svg", { headers, cache: "no-store" });
  if (!response.ok) throw new Error(`graph: HTTP ${response.status}`);
  // The server escapes every text in the SVG; it is inserted as sent.
  document.getElementById("graph").innerHTML = await response.text();
  graphFingerprint = print;
}

// The filter: with about 90 platforms on NGSP's page, find one by code, title or name. Rows
// that do not match are hidden; graph nodes that do not match are dimmed, so the tiers keep
// their places. Applied after every redraw, so the live updates keep it.
function applyFilter() {
  const query = filterInput.value.trim().toLowerCase();
  let shown = 0;
  let total = 0;
  for (const row of document.querySelectorAll("#provinces tbody tr, #services tbody tr")) {
    const match = !query || row.textContent.toLowerCase().includes(query);
    row.hidden = !match;
    total += 1;
    if (match) shown += 1;
  }
  for (const node of document.querySelectorAll("#graph g.node")) {
    const text = [node.dataset.code, node.dataset.platform, node.textContent]
      .filter(Boolean).join(" ").toLowerCase();
    node.classList.toggle("dimmed", Boolean(query) && !text.includes(query));
  }
  document.getElementById("filter-count").textContent = query ? `${shown} of ${total} rows` : "";
}

filterInput.addEventListener("input", applyFilter);

function setLive(className, text) {
  const live = document.getElementById("live");
  live.className = `live ${className}`;
  live.textContent = text;
}

async function problemText(response) {
  try {
    const problem = await response.json();
    return problem.detail || problem.title || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function tick() {
  try {
    const response = await fetch(`/dashboard/state?recent=${RECENT}`, { headers, cache: "no-store" });
    if (!response.ok) throw new Error(await problemText(response));
    const state = await response.json();
    const report = state.report;
    document.title = `${report.platform} · GSP sandbox dashboard`;
    document.getElementById("title").textContent = report.title;
    document.getElementById("platform").textContent =
      `${report.platform} · ${report.tier} platform · agency ${report.agency}`;
    document.getElementById("headline").textContent = state.headline;
    document.getElementById("window").textContent = `(last ${state.window_seconds} s)`;
    renderServices(state);
    renderProvinces(report);
    renderRecent(state.recent);
    await refreshGraph(report);
    applyFilter();
    setLive("ok", `live · ${new Date(state.generated_at).toLocaleTimeString()}`);
  } catch (error) {
    setLive("failing", `not updating: ${error.message}`);
  } finally {
    setTimeout(tick, POLL_MS);
  }
}

tick();
