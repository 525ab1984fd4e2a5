// The status page: polls vpn-metrics' /api/status (the server's "show json") every 2 s and
// /api/usage ("usage json") every minute, and draws them. Names and other server strings
// only ever go in as text (textContent), never as HTML.
"use strict";

const STATUS_MS = 2000, USAGE_MS = 60000, DAYS = 30;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function bytes(n) {
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(n < 10 ? 2 : 1) : n) + " " + u[i];
}

function rate(bps) {
  const u = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"];
  let i = 0;
  while (bps >= 1000 && i < u.length - 1) { bps /= 1000; i++; }
  return (i ? bps.toFixed(bps < 10 ? 2 : 1) : bps) + " " + u[i];
}

function ago(s) {
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  return Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " min ago";
}

async function getJson(url) {
  const r = await fetch(url, { cache: "no-store" });
  const j = await r.json().catch(() => ({ error: "HTTP " + r.status }));
  if (!r.ok || j.error) throw new Error(j.error || "HTTP " + r.status);
  return j;
}

// Who is online: each current session (a rekey's old one is left out), with its user's
// rates and totals from "users".
function drawOnline(st) {
  const byUser = new Map((st.users || []).map(u => [u.user, u]));
  const peers = (st.peers || []).filter(p => !p.retiring)
    .sort((a, b) => a.user < b.user ? -1 : a.user > b.user ? 1 : 0);
  const body = document.querySelector("#online tbody");
  body.replaceChildren(...peers.map(p => {
    const u = byUser.get(p.user) || {};
    const tr = el("tr");
    tr.append(el("td", "user", p.user), el("td", "", u.class || p.class), el("td", "", p.vpn_ip),
              el("td", "", p.endpoint), el("td", "", ago(p.handshake_age_s)),
              el("td", "num", rate(u.rx_bps ?? p.rx_bps)),
              el("td", "num", rate(u.tx_bps ?? p.tx_bps)),
              el("td", "num", "\u2191 " + bytes(u.rx_bytes ?? p.rx_bytes) + "  \u2193 " +
                 bytes(u.tx_bytes ?? p.tx_bytes)));
    return tr;
  }));
  document.getElementById("online-count").textContent = "(" + peers.length + ")";
  document.getElementById("online-empty").hidden = peers.length > 0;
}

async function refreshStatus() {
  const line = document.getElementById("server");
  try {
    const st = await getJson("api/status");
    line.className = "";
    line.textContent = "vpn-server " + (st.version || "") + " \u00b7 " + st.interface + " " +
      st.tun_ip + " \u00b7 UDP port " + st.port + " \u00b7 " + st.workers +
      " enclave workers \u00b7 " + st.sessions + " sessions" +
      (st.under_load ? " \u00b7 under load" : "") + " \u00b7 updated " +
      new Date().toLocaleTimeString();
    drawOnline(st);
  } catch (e) {
    line.className = "down";
    line.textContent = "Server not reachable: " + e.message;
  }
}

// The 30 days up to the reply's "generated" day (UTC), as "YYYY-MM-DD".
function lastDays(generated) {
  const end = new Date((generated || new Date().toISOString()).slice(0, 10) + "T00:00:00Z");
  const days = [];
  for (let i = DAYS - 1; i >= 0; i--)
    days.push(new Date(end.getTime() - i * 86400000).toISOString().slice(0, 10));
  return days;
}

const charts = [];

function quotaBar(u) {
  const q = el("div", "quota");
  if (u.quota_bytes == null) {
    q.textContent = "No quota";
    return q;
  }
  const used = u.period_used_bytes || 0, pct = Math.min(100, used * 100 / u.quota_bytes);
  q.textContent = "Quota: " + bytes(used) + " of " + bytes(u.quota_bytes) + " this " +
    u.quota_period + " (" + pct.toFixed(0) + " %, since " + u.period_start + ")";
  const bar = el("div", "bar" + (pct >= 100 ? " full" : pct >= 80 ? " high" : ""));
  const fill = el("div");
  fill.style.width = pct + "%";
  bar.append(fill);
  q.append(bar);
  return q;
}

function usageCard(u, days) {
  const card = el("div", "card");
  const h = el("h3", "", u.user);
  h.append(el("span", "badge " + u.status, u.status.replace("_", " ")));
  const perDay = new Map((u.days || []).map(d => [d.day, d]));
  const up = days.map(d => (perDay.get(d) || {}).rx_bytes || 0);
  const down = days.map(d => (perDay.get(d) || {}).tx_bytes || 0);
  const total = up.reduce((a, b) => a + b, 0) + down.reduce((a, b) => a + b, 0);
  const meta = el("div", "meta", "class " + u.class + " \u00b7 " + bytes(total) + " in " + DAYS +
                  " days" + (u.expires ? " \u00b7 expires " + u.expires : ""));
  const box = el("div", "chart");
  const canvas = el("canvas");
  box.append(canvas);
  card.append(h, meta, box, quotaBar(u));
  if (window.Chart) {
    charts.push(new Chart(canvas, {
      type: "bar",
      data: { labels: days.map(d => d.slice(5)), datasets: [
        { label: "upload", data: up, backgroundColor: "#3b82c4" },
        { label: "download", data: down, backgroundColor: "#e08a2e" }] },
      options: { animation: false, maintainAspectRatio: false,
        plugins: { legend: { display: true, position: "bottom", labels: { boxWidth: 10 } },
                   tooltip: { callbacks: { label: c => c.dataset.label + ": " + bytes(c.raw) } } },
        scales: { x: { stacked: true, grid: { display: false },
                       ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 } },
                  y: { stacked: true, beginAtZero: true, suggestedMax: 1e6,
                       ticks: { callback: v => bytes(v), maxTicksLimit: 4 } } } }
    }));
  }
  return card;
}

async function refreshUsage() {
  const note = document.getElementById("usage-note"), box = document.getElementById("usage");
  try {
    const usage = await getJson("api/usage");
    const days = lastDays(usage.generated);
    charts.splice(0).forEach(c => c.destroy());
    const users = (usage.users || []).slice()
      .sort((a, b) => (b.period_used_bytes || 0) - (a.period_used_bytes || 0) ||
                      (a.user < b.user ? -1 : 1));
    box.replaceChildren(...users.map(u => usageCard(u, days)));
    note.textContent = users.length ? "Per day, UTC; upload is from the client." : "No users.";
  } catch (e) {
    charts.splice(0).forEach(c => c.destroy());
    box.replaceChildren();
    note.textContent = "Usage not available (" + e.message + ").";
  }
}

refreshStatus();
refreshUsage();
setInterval(refreshStatus, STATUS_MS);
setInterval(refreshUsage, USAGE_MS);
