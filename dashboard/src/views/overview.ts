/**
 * The app overview: requests and errors over time, p50/p95 duration, totals, busiest routes.
 * Inline SVG, no scripts.
 * @module
 */
import { h, raw, type Html } from "./html.js";
import { formatCount, formatMs, formatTime } from "./format.js";
import type { Overview } from "../db/rollups.js";
import { RANGES } from "./list.js";

const W = 960;
const H = 180;
const PAD = { l: 64, r: 12, t: 10, b: 24 };

function formatStep(ms: number): string {
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(1)} h`;
  return `${+(ms / 86_400_000).toFixed(1)} d`;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A count axis's top: its middle tick is a whole number too (never "1, 1, 0"). */
function countMax(v: number): number {
  for (const m of [2, 4, 6, 10]) if (v <= m) return m;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axis(max: number, fmt: (v: number) => string): Html {
  const ticks = [0, 0.5, 1];
  return h`${ticks.map((t) => {
    const y = PAD.t + (H - PAD.t - PAD.b) * (1 - t);
    return h`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y}" y2="${y}" stroke="#e3e6ea"/><text class="ylab" x="${PAD.l - 6}" y="${y + 4}" text-anchor="end">${t === 0 ? "0" : fmt(max * t)}</text>`;
  })}`;
}

function timeLabels(o: Overview): Html {
  const n = o.points.length;
  if (!n) return h``;
  const iw = (W - PAD.l - PAD.r) / n;
  const picks = [...new Set([0, Math.floor(n / 2), n - 1])];
  // The first label starts at the plot's left edge and the last ends at its right edge: none is clipped.
  return h`${picks.map((i, k) => {
    const p = o.points[i]!;
    const anchor = k === 0 ? "start" : k === picks.length - 1 ? "end" : "middle";
    const x = anchor === "start" ? PAD.l : anchor === "end" ? W - PAD.r : PAD.l + iw * i + iw / 2;
    return h`<text x="${x}" y="${H - 6}" text-anchor="${anchor}">${formatTime(p.t, { millis: false }).slice(5, 16)}</text>`;
  })}`;
}

function requestsChart(o: Overview): Html {
  const max = countMax(Math.max(...o.points.map((p) => p.requests), 0));
  const iw = (W - PAD.l - PAD.r) / Math.max(o.points.length, 1);
  const ih = H - PAD.t - PAD.b;
  return h`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Requests and errors over time" id="chart-requests">
    ${axis(max, (v) => formatCount(Math.round(v)))}
    ${o.points.map((p, i) => {
      const x = PAD.l + iw * i + 1;
      const hr = (p.requests / max) * ih;
      const he = (p.errors / max) * ih;
      return h`<g><title>${formatTime(p.t, { millis: false })}: ${p.requests} requests, ${p.errors} errors</title>
        <rect x="${x}" y="${PAD.t + ih - hr}" width="${Math.max(iw - 2, 1)}" height="${hr}" fill="#91a7ff"/>
        <rect x="${x}" y="${PAD.t + ih - he}" width="${Math.max(iw - 2, 1)}" height="${he}" fill="#e03131"/></g>`;
    })}
    ${timeLabels(o)}
  </svg>`;
}

function durationChart(o: Overview): Html {
  const max = niceMax(Math.max(...o.points.map((p) => p.p95 ?? 0), 0));
  const iw = (W - PAD.l - PAD.r) / Math.max(o.points.length, 1);
  const ih = H - PAD.t - PAD.b;
  const line = (key: "p50" | "p95") => {
    const pts = o.points
      .map((p, i) =>
        p[key] === null
          ? null
          : `${(PAD.l + iw * i + iw / 2).toFixed(1)},${(PAD.t + ih - ((p[key] ?? 0) / max) * ih).toFixed(1)}`,
      )
      .filter((s): s is string => s !== null);
    return pts.join(" ");
  };
  return h`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="p50 and p95 duration over time" id="chart-duration">
    ${axis(max, (v) => formatMs(v))}
    <polyline points="${line("p95")}" fill="none" stroke="#f08c00" stroke-width="2"/>
    <polyline points="${line("p50")}" fill="none" stroke="#4c6ef5" stroke-width="2"/>
    ${o.points.map((p, i) =>
      p.p95 === null || p.p50 === null
        ? null
        : h`<g><title>${formatTime(p.t, { millis: false })}: p50 ${formatMs(p.p50)}, p95 ${formatMs(p.p95)}</title>
          <circle cx="${PAD.l + iw * i + iw / 2}" cy="${PAD.t + ih - (p.p95 / max) * ih}" r="2.5" fill="#f08c00"/>
          <circle cx="${PAD.l + iw * i + iw / 2}" cy="${PAD.t + ih - (p.p50 / max) * ih}" r="2.5" fill="#4c6ef5"/></g>`,
    )}
    ${timeLabels(o)}
  </svg>`;
}

export function overviewView(d: {
  ws: string;
  apps: string[];
  app: string | undefined;
  route: string | undefined;
  range: string;
  routes: string[];
  data: Overview;
}): Html {
  const base = `/w/${encodeURIComponent(d.ws)}`;
  const t = d.data.totals;
  const errRate = t.requests ? ((t.error + t.exception) / t.requests) * 100 : 0;
  const listLink = (extra: Record<string, string>) => {
    const p = new URLSearchParams({ ...(d.app ? { app: d.app } : {}), range: d.range, ...extra });
    return `${base}/executions?${p.toString()}`;
  };
  return h`<form class="filters panel" method="get" action="${base}/overview">
      <label class="f">App<select name="app"><option value="">All apps</option>${d.apps.map((a) => h`<option value="${a}" ${a === d.app ? raw("selected") : null}>${a}</option>`)}</select></label>
      <label class="f">Route<select name="route"><option value="">All routes</option>${d.routes.map((r) => h`<option value="${r}" ${r === d.route ? raw("selected") : null}>${r}</option>`)}</select></label>
      <label class="f">Time<select name="range">${Object.entries(RANGES)
        .filter(([k]) => k !== "custom" && k !== "all")
        .map(
          ([k, v]) =>
            h`<option value="${k}" ${k === d.range ? raw("selected") : null}>${v.label}</option>`,
        )}</select></label>
      <button type="submit">Show</button>
    </form>
    <div class="grid g4" id="totals">
      <div class="panel stat"><b>${formatCount(t.requests)}</b><span>requests</span></div>
      <div class="panel stat"><b class="${errRate > 0 ? "oc-exception" : ""}">${formatCount(t.error + t.exception)}</b><span>errors (${errRate.toFixed(errRate && errRate < 1 ? 2 : 1)}%) · <a href="${listLink({ outcome: "exception" })}">exceptions</a> · <a href="${listLink({ status: "5xx" })}">5xx</a></span></div>
      <div class="panel stat" title="approximate: interpolated inside the duration histogram's bins"><b>≈ ${formatMs(t.p50)}</b><span>p50 duration (approximate)</span></div>
      <div class="panel stat" title="approximate: interpolated inside the duration histogram's bins, so it may exceed the slowest request"><b>≈ ${formatMs(t.p95)}</b><span>p95 duration (approximate)</span></div>
    </div>
    <div class="panel"><div style="display:flex;justify-content:space-between"><h2>Requests and errors</h2>
      <div class="legend"><span><i style="background:#91a7ff"></i>requests</span><span><i style="background:#e03131"></i>errors</span><span>per ${formatStep(d.data.step)}</span></div></div>
      ${requestsChart(d.data)}</div>
    <div class="panel"><div style="display:flex;justify-content:space-between"><h2>Duration</h2>
      <div class="legend"><span><i style="background:#4c6ef5"></i>p50</span><span><i style="background:#f08c00"></i>p95</span><span>approximate (histogram bins)</span></div></div>
      ${durationChart(d.data)}</div>
    <div class="panel" style="padding:0"><table id="routes-table"><thead><tr><th>Route</th><th class="num">Requests</th><th class="num">Errors</th><th class="num" title="approximate, from histogram bins">≈ p95</th></tr></thead>
      <tbody>${d.data.routes.map(
        (
          r,
        ) => h`<tr><td><a href="${listLink({ route: r.route })}">${r.route}</a></td><td class="num">${formatCount(r.requests)}</td>
          <td class="num ${r.errors ? "oc-exception" : ""}">${r.errors ? h`<a href="${listLink({ route: r.route, outcome: "exception" })}">${formatCount(r.errors)}</a>` : "0"}</td><td class="num">${formatMs(r.p95)}</td></tr>`,
      )}</tbody></table></div>`;
}
