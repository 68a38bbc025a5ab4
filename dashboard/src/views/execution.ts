/**
 * The execution page: summary, waterfall of boundaries, network evidence, error, console, and the
 * Unlock / Replay / Save-guard panel. Payloads are sealed in the trace and shown as such; the
 * browser unlocks them through the agent.
 * @module
 */
import type { TraceEvent, TraceHead } from "fluxrun/trace";
import { h, jsonScript, raw, type Html } from "./html.js";
import { formatBytes, formatMs, formatTime, statusClass } from "./format.js";
import { stateBox } from "./layout.js";
import type { ExecutionRow } from "../db/executions.js";
import { PAGE_CONFIG_ID, type DiagnosticsConfig, type ExecutionConfig } from "../browser.js";

/** One payload the user may choose to unlock. */
export interface FieldChoice {
  path: string;
  label: string;
  seq: number;
}

const HTTP_KINDS: ReadonlySet<string> = new Set(["fetch"]);

/** The unlockable fields of an event, as `<seq>.<path>` (`<seq>` alone: the whole payload). */
export function fieldsOf(e: TraceEvent): FieldChoice[] {
  const at = (path: string, label: string): FieldChoice => ({
    path: path ? `${e.seq}.${path}` : String(e.seq),
    label,
    seq: e.seq,
  });
  const where = `#${e.seq} ${e.kind} ${e.op} ${e.target}`;
  switch (e.kind) {
    case "request":
      return [
        at("headers", "Request headers"),
        at("body", "Request body"),
        at("url", "Request URL (query)"),
      ];
    case "response":
      return [at("headers", "Response headers"), at("body", "Response body")];
    case "exception":
      return [at("message", "Error message"), at("stack", "Stack trace")];
    case "console":
      return [at("", `Console ${e.op} (${where})`)];
    case "env":
      return [at("", `Env value ${e.target}`)];
    case "host":
    case "binding":
    case "fetch": {
      if (HTTP_KINDS.has(e.kind) || e.op === "fetch") {
        const out = [at("request.headers", `${where}: request headers`)];
        if (e.info?.reqBytes) out.push(at("request.body", `${where}: request body`));
        if (e.error) out.push(at("error", `${where}: error`));
        else
          out.push(
            at("result.headers", `${where}: response headers`),
            at("result.body", `${where}: response body`),
          );
        return out;
      }
      return [
        at("request", `${where}: arguments`),
        e.error ? at("error", `${where}: error`) : at("result", `${where}: result`),
      ];
    }
    default:
      return [];
  }
}

function sealed(path: string): Html {
  return h`<span class="sealed" data-sealed="${path}">sealed — unlock to view</span>`;
}

function kindBadge(kind: string): Html {
  return h`<span class="k k-${kind}">${kind}</span>`;
}

function waterfall(head: TraceHead, showReads: boolean): Html {
  const events = head.events.filter((e) => showReads || !["clock", "random"].includes(e.kind));
  const total = Math.max(
    head.summary.durationMs * 1000,
    ...head.events.map((e) => e.at + (e.dur ?? 0)),
    1,
  );
  const hidden = head.events.length - events.length;
  return h`<table id="waterfall">
    <thead><tr><th class="num">#</th><th>Kind</th><th>Op</th><th>Target</th><th class="num">Start</th><th class="num">Duration</th><th>Status</th><th style="width:32%">Timeline</th></tr></thead>
    <tbody>${events.map((e) => {
      const left = (e.at / total) * 100;
      const width = Math.max(((e.dur ?? 0) / total) * 100, 0.4);
      return h`<tr data-seq="${e.seq}" data-kind="${e.kind}">
        <td class="num mono">${e.seq}</td><td>${kindBadge(e.kind)}</td><td class="mono">${e.op}</td>
        <td class="mono small">${e.target}${e.write ? h` <span class="tag w" title="write-class effect: never repeated live in replay">write</span>` : null}${e.truncated ? h` <span class="tag w">truncated</span>` : null}${Array.isArray(e.info?.masked) ? h` <span class="tag" title="masked headers">masked: ${(e.info.masked as string[]).join(", ")}</span>` : null}</td>
        <td class="num small nowrap">${formatMs(e.at / 1000)}</td>
        <td class="num small nowrap">${e.dur === undefined ? "" : formatMs(e.dur / 1000)}</td>
        <td>${e.status !== undefined ? h`<span class="badge ${statusClass(e.status)}">${e.status}</span>` : null}${e.error ? h` <span class="mono oc-exception">${e.error}</span>` : null}</td>
        <td><div class="wf"><span class="${e.kind}${e.error || e.kind === "exception" ? " err" : ""}" style="left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%"></span></div></td>
      </tr>`;
    })}</tbody></table>
    ${hidden ? h`<p class="small muted">${hidden} clock and random reads hidden. <a href="?reads=1#timeline">Show them</a></p>` : null}`;
}

function network(head: TraceHead): Html {
  const calls = head.events.filter(
    (e) => e.kind === "fetch" || (e.kind === "binding" && e.op === "fetch"),
  );
  if (!calls.length) return h`<p class="muted">No outbound HTTP calls.</p>`;
  return h`<table id="network"><thead><tr><th class="num">#</th><th>Method</th><th>Host / path</th><th>Status</th><th class="num">Duration</th><th class="num">Sent</th><th class="num">Received</th><th>Notes</th></tr></thead>
  <tbody>${calls.map(
    (
      e,
    ) => h`<tr><td class="num mono">${e.seq}</td><td class="mono">${e.op}</td><td class="mono small">${e.target}</td>
      <td>${e.status !== undefined ? h`<span class="badge ${statusClass(e.status)}">${e.status}</span>` : e.error ? h`<span class="mono oc-exception">${e.error}</span>` : "—"}</td>
      <td class="num nowrap">${e.dur === undefined ? "—" : formatMs(e.dur / 1000)}</td>
      <td class="num nowrap">${typeof e.info?.reqBytes === "number" ? formatBytes(e.info.reqBytes) : "—"}</td>
      <td class="num nowrap">${typeof e.info?.resBytes === "number" ? formatBytes(e.info.resBytes) : "—"}</td>
      <td>${e.write ? h`<span class="tag w">write</span>` : null}${Array.isArray(e.info?.masked) ? h`<span class="tag">masked: ${(e.info.masked as string[]).join(", ")}</span>` : null}</td></tr>`,
  )}</tbody></table>`;
}

export interface ExecutionData {
  ws: string;
  row: ExecutionRow;
  head: TraceHead | null;
  /** Why the trace head could not be read (state box), when head is null. */
  headProblem: Html | null;
  canAct: boolean;
  role: string;
  agent: { origin: string | null; id: string | null };
  guard: { command: string; createdAt: number } | null;
  showReads: boolean;
}

export function executionView(d: ExecutionData): { body: Html; config: ExecutionConfig } {
  const r = d.row;
  const head = d.head;
  const exception = head?.events.find((e) => e.kind === "exception");
  const consoleEvents = head?.events.filter((e) => e.kind === "console") ?? [];
  const envEvents = head?.events.filter((e) => e.kind === "env") ?? [];
  const fields = head ? head.events.flatMap(fieldsOf) : [];
  const summary = h`<div class="panel">
    <div style="display:flex;gap:14px;align-items:center;flex-wrap:wrap">
      <h1 style="margin:0"><span class="mono">${r.method}</span> ${r.route}</h1>
      <span class="badge ${statusClass(r.status)}" id="status">${r.status}</span>
      <span class="oc-${r.outcome}" id="outcome">${r.outcome}</span>
      ${r.errorClass ? h`<span class="mono oc-exception">${r.errorClass}</span>` : null}
      ${r.truncated ? h`<span class="tag w">truncated trace</span>` : null}
      ${r.origin === "verified" ? null : h`<span class="tag w" id="origin-unverified" title="No registered key checked this trace's signature: it may not come from the app">unverified origin</span>`}
    </div>
    <dl class="kv" style="margin-top:12px">
      <dt>App</dt><dd>${r.app}</dd>
      <dt>Started</dt><dd class="mono">${formatTime(r.start)} UTC</dd>
      <dt>Duration</dt><dd>${formatMs(r.durationMs)}</dd>
      <dt>Events</dt><dd>${r.events}${head ? h` · ${Object.entries(head.summary.eventCounts).map(([k, n]) => h`<span class="tag">${k} ${n}</span>`)}` : null}</dd>
      <dt>Origin</dt><dd id="origin">${r.origin === "verified" ? h`verified: signed by the app${head?.signer ? h` (key ${head.signer.slice(0, 16)}…)` : null}` : h`unverified: ${head && !head.signer ? "the trace is unsigned" : "no verification key registered for this app (FLUX_ORIGIN_KEYS)"}`}</dd>
      <dt>Trace</dt><dd class="mono small">${r.traceId} · format v${r.version || "?"} · ${r.runtime || "?"}${head ? h` · sealed to key ${head.recipient.kid.slice(0, 16)}…` : null}</dd>
      ${head && (head.stats.droppedEvents || head.stats.truncatedPayloads) ? h`<dt>Budget</dt><dd class="oc-error">${head.stats.droppedEvents} events dropped · ${head.stats.truncatedPayloads} payloads cut by the size budget</dd>` : null}
    </dl>
  </div>`;
  const act = d.canAct
    ? h`<div class="panel" id="act">
      <h2>Unlock and replay through your agent</h2>
      <p class="small muted">The browser calls the agent at <code>${d.agent.origin ?? "(not configured)"}</code> with a single-use token the dashboard issues for exactly this action and trace (60 s). The dashboard never sees the payloads.</p>
      ${
        fields.length
          ? h`<details ${raw("open")}><summary>Choose payloads to unlock (${fields.length})</summary>
        <p class="small"><a href="#" data-check="all">all</a> · <a href="#" data-check="none">none</a></p>
        <div class="fields">${fields.map((f) => h`<label><input type="checkbox" name="field" value="${f.path}"> <code>${f.path}</code> <span class="small muted">${f.label}</span></label>`)}</div>
      </details>`
          : null
      }
      <div class="actions" style="margin-top:12px">
        <button id="unlock-btn" type="button">Unlock selected</button>
        <button id="replay-btn" type="button" class="sec">Replay with recorded IO</button>
        <a class="small" href="/w/${d.ws}/executions/${r.traceId}/trace.cbor">Download sealed trace</a>
        ${d.guard ? h`<span class="small muted">A regression guard exists for this trace (${formatTime(d.guard.createdAt, { millis: false })}).</span>` : null}
      </div>
      <div id="agent-state" style="margin-top:12px"></div>
      <div id="report" hidden></div>
      <div id="guard" hidden class="panel" style="margin-top:12px">
        <h2>Save as regression guard</h2><p id="guard-note" class="small"></p>
        <button id="guard-btn" type="button">Save as regression guard</button>
        <div id="guard-done" style="margin-top:10px"></div>
      </div>
      <div id="unlocked" class="panel" hidden style="margin-top:12px"></div>
    </div>`
    : stateBox(
        "info",
        `Payloads stay sealed for your role (${d.role})`,
        "Viewers see summaries, timelines and network evidence. Unlock and replay need the responder role: ask a workspace admin.",
        { id: "viewer-note" },
      );
  const body = head
    ? h`${summary}
    ${
      exception || r.outcome !== "ok"
        ? h`<div class="panel" id="error"><h2>Error</h2>
      ${
        exception
          ? h`<p><span class="mono oc-exception">${exception.error ?? r.errorClass ?? "Error"}</span> thrown at ${formatMs(exception.at / 1000)} (event #${exception.seq}).</p>
        <dl class="kv"><dt>Message</dt><dd>${sealed(`${exception.seq}.message`)}</dd><dt>Stack</dt><dd>${sealed(`${exception.seq}.stack`)}</dd></dl>`
          : h`<p>The handler answered <span class="badge ${statusClass(r.status)}">${r.status}</span>${r.errorClass ? h` with error class <span class="mono">${r.errorClass}</span>` : null}.</p>`
      }
    </div>`
        : null
    }
    ${act}
    <div class="panel" id="timeline"><h2>Timeline of boundaries</h2>${waterfall(head, d.showReads)}</div>
    <div class="grid g2">
      <div class="panel"><h2>Network evidence</h2>${network(head)}
        ${head.summary.fetches.length ? h`<p class="small muted">Hosts: ${[...new Set(head.summary.fetches.map((f) => f.host))].map((x) => h`<span class="tag">${x}</span>`)}</p>` : null}</div>
      <div class="panel" id="console"><h2>Console</h2>
        ${consoleEvents.length ? h`<table><tbody>${consoleEvents.map((e) => h`<tr><td class="num mono">#${e.seq}</td><td class="mono">${e.op}</td><td class="small nowrap">${formatMs(e.at / 1000)}</td><td>${sealed(String(e.seq))}</td></tr>`)}</tbody></table>` : h`<p class="muted">No console output.</p>`}
        ${envEvents.length ? h`<h3 style="margin-top:14px">Secrets and env read</h3><p>${envEvents.map((e) => h`<span class="tag">${e.target}</span>`)} <span class="sealed">values sealed</span></p>` : null}
      </div>
    </div>`
    : h`${summary}${d.headProblem ?? ""}`;
  return {
    body,
    config: {
      trace: r.traceId,
      ws: d.ws,
      app: r.app,
      agentOrigin: d.agent.origin,
      agentId: d.agent.id,
    },
  };
}

/** The page's configuration for its script, as a JSON script element. */
export function configScript(config: ExecutionConfig | DiagnosticsConfig): Html {
  return h`<script type="application/json" id="${PAGE_CONFIG_ID}">${jsonScript(config)}</script>`;
}
