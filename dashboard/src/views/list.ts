/**
 * The executions list: filters, counts, the table, cursor pagination.
 * @module
 */
import { h, raw, type Html } from "./html.js";
import { formatCount, formatMs, formatTime, statusClass } from "./format.js";
import { OUTCOMES, type ExecutionRow } from "../db/executions.js";

/** How a handler kind other than fetch reads in the list. */
const HANDLER_LABEL: Record<NonNullable<ExecutionRow["handler"]>, string> = {
  fetch: "request",
  scheduled: "cron run",
  queue: "queue batch",
  email: "email",
  rpc: "RPC method",
  alarm: "alarm",
};

export interface ListQuery {
  app?: string | undefined;
  q?: string | undefined;
  /** "1": the page reloads itself every 30 s. */
  live?: string | undefined;
  route?: string | undefined;
  status?: string | undefined;
  outcome?: string | undefined;
  error?: string | undefined;
  range?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export const RANGES: Readonly<Record<string, { label: string; ms: number | null }>> = {
  "1h": { label: "Last hour", ms: 3_600_000 },
  "24h": { label: "Last 24 hours", ms: 86_400_000 },
  "7d": { label: "Last 7 days", ms: 7 * 86_400_000 },
  "30d": { label: "Last 30 days", ms: 30 * 86_400_000 },
  all: { label: "All time", ms: null },
  custom: { label: "Custom…", ms: null },
};

function qs(q: ListQuery, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...extra })) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : "";
}

function select(
  name: string,
  label: string,
  value: string | undefined,
  options: [string, string][],
): Html {
  return h`<label class="f">${label}<select name="${name}">
    ${options.map(([v, l]) => h`<option value="${v}" ${v === (value ?? "") ? raw("selected") : null}>${l}</option>`)}
  </select></label>`;
}

export function listView(data: {
  ws: string;
  query: ListQuery;
  apps: string[];
  routes: string[];
  errorClasses: string[];
  rows: ExecutionRow[];
  next: string | null;
  isFirstPage: boolean;
  count: { count: number; capped: boolean };
  facets: {
    ok: number;
    error: number;
    exception: number;
    s2xx: number;
    s4xx: number;
    s5xx: number;
  } | null;
}): Html {
  const q = data.query;
  const base = `/w/${encodeURIComponent(data.ws)}`;
  const filters = h`<form class="filters panel" method="get" action="${base}/executions" id="filters">
    ${select("app", "App", q.app, [["", "All apps"], ...data.apps.map((a): [string, string] => [a, a])])}
    <label class="f">Search<input name="q" type="search" value="${q.q ?? ""}" placeholder="trace id, route, cf-ray, colo:SJC, release:v42…" title="Free text over trace id, route, status, method, error class, cf-ray, colo and release; release:, colo: and ray: narrow to one of them" size="22"></label>
    <label class="f">Route (prefix)<input name="route" list="routes" value="${q.route ?? ""}" placeholder="any route" size="18"></label>
    <datalist id="routes">${data.routes.map((r) => h`<option value="${r}">`)}</datalist>
    ${select("status", "Status", q.status, [
      ["", "Any"],
      ["2xx", "2xx"],
      ["3xx", "3xx"],
      ["4xx", "4xx"],
      ["5xx", "5xx"],
    ])}
    ${select("outcome", "Outcome", q.outcome, [
      ["", "Any"],
      ...OUTCOMES.map((o): [string, string] => [o, o]),
    ])}
    <label class="f">Error class (prefix, any case)<input name="error" list="errors" value="${q.error ?? ""}" placeholder="e.g. TypeError" size="14"></label>
    <datalist id="errors">${data.errorClasses.map((e) => h`<option value="${e}">`)}</datalist>
    ${select(
      "range",
      "Time",
      q.range ?? "all",
      Object.entries(RANGES).map(([k, v]): [string, string] => [k, v.label]),
    )}
    <label class="f custom-range" ${q.range === "custom" ? null : raw("hidden")}>From (UTC)<input type="datetime-local" name="from" value="${q.from ?? ""}" step="1"></label>
    <label class="f custom-range" ${q.range === "custom" ? null : raw("hidden")}>To (UTC)<input type="datetime-local" name="to" value="${q.to ?? ""}" step="1"></label>
    <button type="submit">Apply</button>
    <a class="btn sec" href="${base}/executions">Reset</a>
    <label class="small nowrap"><input type="checkbox" name="live" value="1" id="auto-refresh" ${q.live === "1" ? raw("checked") : null}> auto-refresh (30 s)</label>
  </form>`;
  const f = data.facets;
  const counts = h`<div class="counts" id="counts">
    <span><b data-count="${data.count.count}">${formatCount(data.count.count)}${data.count.capped ? "+" : ""}</b> matching</span>
    ${
      f
        ? h`<span>in range: <b>${formatCount(f.ok)}</b> ok · <b class="oc-error">${formatCount(f.error)}</b> error · <b class="oc-exception">${formatCount(f.exception)}</b> exception</span>
      <span><b>${formatCount(f.s2xx)}</b> 2xx · <b>${formatCount(f.s4xx)}</b> 4xx · <b>${formatCount(f.s5xx)}</b> 5xx</span>`
        : null
    }
  </div>`;
  const table = h`<div class="panel" style="padding:0"><table id="executions">
    <thead><tr><th>Time (UTC)</th><th>App</th><th>Request</th><th>Status</th><th>Outcome</th><th class="num">Duration</th><th class="num">Events</th><th>Hosts</th><th>Error</th></tr></thead>
    <tbody>
    ${data.rows.map(
      (
        r,
      ) => h`<tr class="row" data-trace="${r.traceId}" data-href="${base}/executions/${r.traceId}">
        <td class="nowrap mono"><a href="${base}/executions/${r.traceId}">${formatTime(r.start)}</a></td>
        <td>${r.app}</td>
        <td><span class="mono">${r.method}</span> ${r.route}${r.handler && r.handler !== "fetch" ? h` <span class="tag" data-handler="${r.handler}" title="${r.entry ?? ""}">${HANDLER_LABEL[r.handler]}</span>` : null}</td>
        <td><span class="badge ${statusClass(r.status)}">${r.status}</span></td>
        <td class="oc-${r.outcome}">${r.outcome}</td>
        <td class="num">${formatMs(r.durationMs)}</td>
        <td class="num">${r.events}</td>
        <td class="small">${r.hosts
          .split(",")
          .filter(Boolean)
          .map((x) => h`<span class="tag">${x}</span>`)}</td>
        <td>${r.errorClass ? h`<span class="mono oc-exception">${r.errorClass}</span>` : null}${r.truncated ? h` <span class="tag w">truncated</span>` : null}</td>
      </tr>`,
    )}
    </tbody></table></div>`;
  const pager = h`<div class="pager">
    ${data.isFirstPage ? null : h`<a class="btn sec" href="${base}/executions${qs(q)}">⟵ Newest</a>`}
    ${data.next ? h`<a class="btn sec" id="older" href="${base}/executions${qs(q, { cursor: data.next })}">Older ⟶</a>` : null}
  </div>`;
  return h`${filters}${counts}${data.rows.length ? h`${table}${pager}` : h`<div class="panel muted" id="no-match">No executions match these filters.</div>`}`;
}
