/**
 * Diagnostics of a workspace: the dashboard's own setup checks, the agent (checked from the
 * browser by the page script), the index (sweep state per app, objects not indexed), and what
 * ingest refused per app and reason (the dashboard's own record of loss).
 * @module
 */
import { h, type Html } from "./html.js";
import { ago, formatCount } from "./format.js";
import type { CursorStatus } from "../db/index-state.js";
import type { RefusalRow } from "../db/ingest-limits.js";
import type { AppRow } from "../db/workspaces.js";

/** One setup check: passed, failed (with its fix in `detail`), or informational. */
export interface Check {
  id: string;
  ok: boolean | null;
  label: string;
  detail: Html | string;
}

/** What each refusal reason means, and what to do about it. */
const REFUSAL_REASONS: Record<string, string> = {
  auth: "revoked ingest token: create a new one in Admin → Apps",
  locked: "the sender's address was locked out after repeated failed authentications",
  rate_limited: "over the token's request rate: the sink retries after Retry-After",
  version: "the sink speaks another ingest version: align fluxrun and the dashboard",
  body_too_large: "request body over the limit: lower the sink's maxBatchBytes",
  not_a_batch: "the body was not an ingest batch",
  schema: "an item that is not a trace of the contract",
  too_large: "a trace over the per-trace limit",
  unreadable: "bytes that are not a trace this dashboard reads",
  app_mismatch: "a trace for another app than the token's",
  key_mismatch: "the sent storage key is not the trace's",
  summary_mismatch: "the sent summary is not the trace's own",
  duplicate: "already stored (not lost: a retry of a stored trace)",
};

function refusalsPanel(rows: readonly RefusalRow[], now: number): Html {
  return h`<div class="panel"><h2>Ingest refusals (last 24 hours)</h2>
    <p class="small muted">What <code>POST /v1/ingest</code> refused for this workspace's apps, by reason. Requests refused whole count requests; items refused in a batch count traces. Traces a sink dropped before reaching the dashboard are counted by the sink (<code>fluxStats()</code>).</p>
    ${
      rows.length
        ? h`<table id="ingest-refusals"><thead><tr><th>App</th><th>Reason</th><th class="num">Refused</th><th>Last</th><th>Meaning</th></tr></thead><tbody>
      ${rows.map((r) => h`<tr data-app="${r.app}" data-reason="${r.reason}"><td>${r.app}</td><td class="mono small">${r.reason}</td><td class="num">${formatCount(r.n)} ${r.unit === "request" ? (r.n === 1 ? "request" : "requests") : r.n === 1 ? "trace" : "traces"}</td><td>${ago(r.lastAt, now)}</td><td class="small">${REFUSAL_REASONS[r.reason] ?? ""}</td></tr>`)}
      </tbody></table>`
        : h`<p class="muted" id="ingest-refusals-none">Nothing refused in the last 24 hours.</p>`
    }</div>`;
}

export function diagnosticsView(d: {
  checks: Check[];
  apps: AppRow[];
  agentOrigin: string | null;
  cursors: CursorStatus[];
  skips: { key: string; reason: string }[];
  refusals: RefusalRow[];
  now: number;
}): Html {
  return h`<h1>Diagnostics</h1><p class="sub">What this workspace needs to show traces and to unlock and replay them.</p>
  <div class="panel"><h2>Dashboard</h2><table id="checks"><tbody>
    ${d.checks.map((k) => h`<tr data-check-id="${k.id}"><td style="width:60px"><span class="badge ${k.ok ? "st-2" : k.ok === false ? "st-5" : "st-none"}">${k.ok ? "ok" : "fix"}</span></td><td style="width:220px">${k.label}</td><td class="small">${k.detail}</td></tr>`)}
    <tr><td><span class="badge ${d.apps.length ? "st-2" : "st-5"}">${d.apps.length ? "ok" : "fix"}</span></td><td>Apps</td><td class="small">${d.apps.length ? d.apps.map((a) => h`<span class="tag">${a.name}</span>`) : "No apps in this workspace yet: record some traffic, then reindex (apps join the default workspace) or register the app in Admin → Apps."}</td></tr>
  </tbody></table></div>
  <div class="panel"><h2>Agent (checked from your browser)</h2>
    <p class="small muted">Calls <code>${d.agentOrigin ?? "(none)"}/v1/health</code> directly, as Unlock and Replay do.</p>
    <button id="check-agent" type="button" class="sec">Check agent</button><div id="agent-health" style="margin-top:12px"></div></div>
  <div class="panel"><h2>Index</h2>
    ${
      d.cursors.length
        ? h`<table id="cursors"><thead><tr><th>Prefix</th><th>Last key</th><th>Swept</th><th class="num">Indexed</th><th class="num">Skipped</th><th>Status</th></tr></thead><tbody>
      ${d.cursors.map(
        (
          k,
        ) => h`<tr><td class="mono small">${k.prefix}</td><td class="mono small">${k.lastKey ?? "—"}</td><td>${k.sweptAt ? ago(k.sweptAt, d.now) : "never"}</td><td class="num">${formatCount(k.indexed)}</td><td class="num">${formatCount(k.skipped)}</td>
        <td>${k.lastError ? h`<span class="oc-exception">${k.lastError}</span>` : k.rebuilding ? "rebuilding" : "ok"}</td></tr>`,
      )}</tbody></table>`
        : h`<p class="muted">Not swept yet. The cron sweep runs every minute; admins can reindex from R2 in Admin.</p>`
    }
    ${d.skips.length ? h`<h3 style="margin-top:12px">Objects not indexed</h3><table><tbody>${d.skips.map((s) => h`<tr><td class="mono small">${s.key}</td><td class="small">${s.reason}</td></tr>`)}</tbody></table>` : null}
  </div>
  ${refusalsPanel(d.refusals, d.now)}`;
}
