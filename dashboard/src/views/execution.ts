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
import { MAX_UNLOCK_FIELDS, type CallSite } from "fluxrun/contract";
import { siteKey, type MappedSites } from "../sourcemaps/mapper.js";
import {
  PAGE_CONFIG_ID,
  type AgentTimeouts,
  type DiagnosticsConfig,
  type ExecutionConfig,
} from "../browser.js";

/** One payload the user may choose to unlock. */
export interface FieldChoice {
  path: string;
  label: string;
  seq: number;
  /** The value is a secret (an env value): the page reveals it only after a confirmation. */
  secret?: string;
}

/** Env values are secrets unless proven otherwise (the env's shape is names only). */
function secretOf(e: TraceEvent): string | undefined {
  return e.kind === "env" && e.op !== "shape" ? e.target : undefined;
}

const HTTP_KINDS: ReadonlySet<string> = new Set(["fetch"]);

/** The unlockable fields of an event, as `<seq>.<path>` (`<seq>` alone: the whole payload). */
export function fieldsOf(e: TraceEvent): FieldChoice[] {
  const secret = secretOf(e);
  const at = (path: string, label: string): FieldChoice => ({
    path: path ? `${e.seq}.${path}` : String(e.seq),
    label,
    seq: e.seq,
    ...(secret ? { secret } : {}),
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

/** Events in tree order: each one after its parent's earlier children, with its depth. */
export function nested(events: readonly TraceEvent[]): { e: TraceEvent; depth: number }[] {
  const bySeq = new Set(events.map((e) => e.seq));
  const children = new Map<number | null, TraceEvent[]>();
  for (const e of events) {
    const p = e.parent !== undefined && bySeq.has(e.parent) ? e.parent : null;
    children.set(p, [...(children.get(p) ?? []), e]);
  }
  const out: { e: TraceEvent; depth: number }[] = [];
  const walk = (parent: number | null, depth: number): void => {
    for (const e of children.get(parent) ?? []) {
      out.push({ e, depth });
      if (depth < 16) walk(e.seq, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** Round tick steps for a ruler over `total` µs: about five ticks. */
function ticks(total: number): number[] {
  const raw = total / 5;
  const mag = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= total + 1e-9 && out.length < 12; t += step) out.push(t);
  return out;
}

function timing(e: TraceEvent): string {
  const end = e.dur === undefined ? "" : ` · ends ${formatMs((e.at + e.dur) / 1000)}`;
  return `starts ${formatMs(e.at / 1000)}${e.dur === undefined ? "" : ` · takes ${formatMs(e.dur / 1000)}`}${end}`;
}

function waterfall(head: TraceHead, showReads: boolean, sm: MappedSites): Html {
  const events = head.events.filter((e) => showReads || !["clock", "random"].includes(e.kind));
  const total = Math.max(
    head.summary.durationMs * 1000,
    ...head.events.map((e) => e.at + (e.dur ?? 0)),
    1,
  );
  const hidden = head.events.length - events.length;
  const ruler = ticks(total);
  return h`<table id="waterfall">
    <thead><tr><th class="num">#</th><th>Kind</th><th>Op</th><th>Target</th><th class="num">Start</th><th class="num">Duration</th><th>Status</th><th style="width:32%"><div class="ruler" id="ruler">${ruler.map((t) => h`<span class="tick" style="left:${((t / total) * 100).toFixed(2)}%">${formatMs(t / 1000)}</span>`)}</div></th></tr></thead>
    <tbody>${nested(events).map(({ e, depth }) => {
      const left = (e.at / total) * 100;
      const width = Math.max(((e.dur ?? 0) / total) * 100, 0.4);
      return h`<tr data-seq="${e.seq}" data-kind="${e.kind}" data-depth="${depth}" ${e.parent !== undefined ? h`data-parent="${e.parent}"` : null} class="row ev" title="${`#${e.seq} ${e.kind} ${e.op} ${e.target}: ${timing(e)}`}">
        <td class="num mono">${e.seq}</td><td>${kindBadge(e.kind)}</td><td class="mono">${e.op}</td>
        <td class="mono small" style="padding-left:${10 + depth * 18}px">${depth ? h`<span class="muted" title="inside #${e.parent}">└ </span>` : null}${e.target}${e.write ? h` <span class="tag w" title="write-class effect: never repeated live in replay">write</span>` : null}${e.truncated ? h` <span class="tag w">truncated</span>` : null}${e.info?.unread ? h` <span class="tag" title="the app never read this response body; the trace keeps its size (unreadBodies)">body unread</span>` : null}${Array.isArray(e.info?.masked) ? h` <span class="tag" title="masked headers">masked: ${(e.info.masked as string[]).join(", ")}</span>` : null}${siteCell(e, sm)}</td>
        <td class="num small nowrap">${formatMs(e.at / 1000)}</td>
        <td class="num small nowrap">${e.dur === undefined ? "" : formatMs(e.dur / 1000)}</td>
        <td>${e.status !== undefined ? h`<span class="badge ${statusClass(e.status)}">${e.status}</span>` : null}${e.error ? h` <span class="mono oc-exception">${e.error}</span>` : null}</td>
        <td><div class="wf">${ruler.map((t) => h`<i style="left:${((t / total) * 100).toFixed(2)}%"></i>`)}<span class="${e.kind}${e.error || e.kind === "exception" ? " err" : ""}" style="left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%" title="${timing(e)}"></span></div></td>
      </tr>`;
    })}</tbody></table>
    ${hidden ? h`<p class="small muted">${hidden} clock and random reads hidden. <a href="?reads=1#timeline">Show them</a></p>` : null}
    <p class="small muted">Click a row for its details and payloads. Nested calls sit under the call they happened inside.</p>`;
}

/** The release or script version that ran: the index's, else the trace summary's. */
export function releaseOf(row: ExecutionRow, head: TraceHead | null): string | null {
  return row.release || head?.summary.release || null;
}

/** One frame: in source when a map covers it (the bundle position on hover), else as recorded. */
function frameItem(frame: CallSite, sm: MappedSites): Html {
  const [fn, file, line, col] = frame;
  const bundle = `${file}:${line}:${col}`;
  const mapped = sm.sites.get(siteKey(frame));
  if (!mapped) {
    return h`<li class="mono small"><b>${fn || "(anonymous)"}</b> <span class="muted">${bundle}</span></li>`;
  }
  const library = mapped[1].includes("node_modules/");
  return h`<li class="mono small${library ? " muted" : ""}" data-mapped="1"><b>${mapped[0] || fn || "(anonymous)"}</b> <span class="src" title="${`bundle: ${bundle}`}" data-bundle="${bundle}">${mapped[1]}:${mapped[2]}</span>${library ? h` <span class="tag">dependency</span>` : null}</li>`;
}

/** Whether the frames read in source, and where to upload a map when they do not. */
function mapNote(site: readonly CallSite[], sm: MappedSites, ws: string): Html {
  const release = sm.release ? h`release <span class="mono">${sm.release}</span>` : null;
  if (!sm.bundles.length) {
    return h`<p class="small muted" data-sourcemap="none">No source map for ${release ?? "this bundle (the execution records no release)"}: frames point into the deployed bundle. <a href="/w/${ws}/sourcemaps">Upload one</a>.</p>`;
  }
  const all = site.every((f) => sm.sites.has(siteKey(f)));
  return h`<p class="small muted" data-sourcemap="${all ? "mapped" : "partial"}">${all ? "Mapped to source" : "Partly mapped"} with the source map of ${release ?? "the bundle"} (${sm.bundles.join(", ")}). Hover a frame for its bundle position.</p>`;
}

function frames(site: TraceEvent["site"], sm: MappedSites, ws: string): Html {
  if (!site?.length) return h`<span class="muted">not recorded</span>`;
  return h`<ol class="frames">${site.map((f) => frameItem(f, sm))}</ol>${mapNote(site, sm, ws)}`;
}

/** The call site a waterfall row shows: its top frame, in source when mapped. */
function siteCell(e: TraceEvent, sm: MappedSites): Html | null {
  const top = e.site?.[0];
  if (!top) return null;
  const mapped = sm.sites.get(siteKey(top));
  const bundle = `${top[1]}:${top[2]}:${top[3]}`;
  return h`<div class="small muted site" title="${`called from ${bundle}`}">${mapped ? `${mapped[1]}:${mapped[2]} ${mapped[0] || top[0]}` : `${top[0] || "(anonymous)"} ${bundle.split("/").pop()}`}</div>`;
}

/** Each event's details for the side panel: timings, facts, call site, payload slots (sealed). */
function sidePanel(head: TraceHead, sm: MappedSites, ws: string): Html {
  return h`<aside id="side" hidden aria-label="Event details"><button type="button" class="sec small-btn" id="side-close">Close</button>
    ${head.events.map((e) => {
      const fields = fieldsOf(e);
      return h`<div class="evd" data-ev="${e.seq}" hidden>
        <h2>#${e.seq} ${kindBadge(e.kind)} <span class="mono">${e.op}</span></h2>
        <p class="mono small wrap">${e.target}</p>
        <dl class="kv">
          <dt>Timing</dt><dd>${timing(e)}</dd>
          ${e.parent !== undefined ? h`<dt>Inside</dt><dd>#${e.parent}</dd>` : null}
          ${e.status !== undefined ? h`<dt>Status</dt><dd><span class="badge ${statusClass(e.status)}">${e.status}</span></dd>` : null}
          ${e.error ? h`<dt>Error</dt><dd class="mono oc-exception">${e.error}</dd>` : null}
          ${typeof e.info?.reqBytes === "number" ? h`<dt>Sent</dt><dd>${formatBytes(e.info.reqBytes)}</dd>` : null}
          ${typeof e.info?.resBytes === "number" ? h`<dt>Received</dt><dd>${formatBytes(e.info.resBytes)}</dd>` : null}
          ${Array.isArray(e.info?.masked) ? h`<dt>Masked</dt><dd>${(e.info.masked as string[]).join(", ")}</dd>` : null}
          <dt>Called from</dt><dd>${frames(e.site, sm, ws)}</dd>
        </dl>
        ${
          fields.length
            ? h`<h3 style="margin-top:10px">Payloads</h3>${fields.map((f) => h`<div class="small"><code>${f.path}</code> ${f.label}${f.secret ? h` <span class="tag w">secret</span>` : null}</div>${sealed(f.path)}`)}
          <p><button type="button" class="sec small-btn" data-unlock-event="${e.seq}">Unlock these</button></p>`
            : null
        }
      </div>`;
    })}</aside>`;
}

function network(head: TraceHead): Html {
  const calls = head.events.filter(
    (e) => e.kind === "fetch" || (e.kind === "binding" && e.op === "fetch"),
  );
  if (!calls.length) return h`<p class="muted">No outbound HTTP calls.</p>`;
  const sortable = (label: string, key: string, num = false) =>
    h`<th class="${num ? "num sort" : "sort"}" data-sort="${key}" title="sort">${label}</th>`;
  return h`<table id="network"><thead><tr>${sortable("#", "seq", true)}${sortable("Method", "method")}${sortable("Host / path", "target")}${sortable("Status", "status", true)}${sortable("Duration", "dur", true)}${sortable("Sent", "sent", true)}${sortable("Received", "received", true)}<th>Notes</th></tr></thead>
  <tbody>${calls.map(
    (
      e,
    ) => h`<tr data-seq="${e.seq}" data-method="${e.op}" data-target="${e.target}" data-status="${e.status ?? -1}" data-dur="${e.dur ?? -1}" data-sent="${typeof e.info?.reqBytes === "number" ? e.info.reqBytes : -1}" data-received="${typeof e.info?.resBytes === "number" ? e.info.resBytes : -1}"><td class="num mono">${e.seq}</td><td class="mono">${e.op}</td><td class="mono small">${e.target}</td>
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
  timeouts: AgentTimeouts;
  /** The head's frames in source, where an uploaded map covers them. */
  sites: MappedSites;
}

export function executionView(d: ExecutionData): { body: Html; config: ExecutionConfig } {
  const r = d.row;
  const head = d.head;
  const exception = head?.events.find((e) => e.kind === "exception");
  const consoleEvents = head?.events.filter((e) => e.kind === "console") ?? [];
  const envEvents = head?.events.filter((e) => e.kind === "env") ?? [];
  const fields = head ? head.events.flatMap(fieldsOf) : [];
  const release = releaseOf(r, head);
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
      <dt>Wall time</dt><dd id="wall">${formatMs(r.durationMs)}</dd>
      <dt>CPU time</dt><dd id="cpu" class="muted">not recorded (the runtime does not measure it)</dd>
      <dt>Release</dt><dd id="release" class="${release ? "mono" : "muted"}">${release ?? "unknown (the trace records no release or script version)"}</dd>
      ${r.cfRay || r.colo ? h`<dt>Cloudflare</dt><dd id="cf">${r.cfRay ? h`ray <span class="mono" id="cf-ray">${r.cfRay}</span>` : null}${r.cfRay && r.colo ? " · " : null}${r.colo ? h`colo <span class="mono" id="colo">${r.colo}</span>` : null}</dd>` : null}
      ${head?.summary.handler && head.summary.handler !== "fetch" ? h`<dt>Handler</dt><dd id="handler"><span class="tag">${head.summary.handler}</span>${head.summary.entry ? h` <span class="mono">${head.summary.entry}</span>` : null}</dd>` : null}
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
        <p class="small"><a href="#" data-check="all">${fields.length > MAX_UNLOCK_FIELDS ? `first ${MAX_UNLOCK_FIELDS}` : "all"}</a> · <a href="#" data-check="none">none</a> · <span id="field-count" data-max="${MAX_UNLOCK_FIELDS}">0 of at most ${MAX_UNLOCK_FIELDS} selected</span></p>
        <div class="fields">${fields.map((f) => h`<label><input type="checkbox" name="field" value="${f.path}"> <code>${f.path}</code> <span class="small muted">${f.label}</span>${f.secret ? h` <span class="tag w">secret</span>` : null}</label>`)}</div>
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
        <dl class="kv"><dt>Message</dt><dd>${sealed(`${exception.seq}.message`)}</dd>
          <dt>Thrown from</dt><dd id="error-frames">${frames(exception.site, d.sites, d.ws)}</dd>
          <dt>Stack</dt><dd>${sealed(`${exception.seq}.stack`)}</dd></dl>`
          : h`<p>The handler answered <span class="badge ${statusClass(r.status)}">${r.status}</span>${r.errorClass ? h` with error class <span class="mono">${r.errorClass}</span>` : null}.</p>`
      }
    </div>`
        : null
    }
    ${act}
    <div class="panel" id="timeline"><h2>Timeline of boundaries</h2>${waterfall(head, d.showReads, d.sites)}</div>
    ${sidePanel(head, d.sites, d.ws)}
    <div class="grid g2">
      <div class="panel"><h2>Network evidence</h2>${network(head)}
        ${d.canAct && head.events.some((e) => e.kind === "fetch") ? h`<p class="small"><button type="button" class="sec small-btn" id="har-btn">Export HAR</button> <span class="muted">of the unlocked network evidence (sealed parts stay out)</span></p>` : null}
        ${head.summary.fetches.length ? h`<p class="small muted">Hosts: ${[...new Set(head.summary.fetches.map((f) => f.host))].map((x) => h`<span class="tag">${x}</span>`)}</p>` : null}</div>
      <div class="panel" id="console"><h2>Console</h2>
        ${consoleEvents.length ? h`<table><tbody>${consoleEvents.map((e) => h`<tr><td class="num mono">#${e.seq}</td><td class="mono">${e.op}</td><td class="small nowrap">${formatMs(e.at / 1000)}</td><td>${sealed(String(e.seq))}</td></tr>`)}</tbody></table>` : h`<p class="muted">No console output.</p>`}
        ${
          envEvents.length
            ? h`<h3 style="margin-top:14px">Secrets and env read</h3><table id="env"><tbody>${envEvents.map(
                (e) =>
                  h`<tr><td class="num mono">#${e.seq}</td><td class="mono">${e.target}</td><td>${e.op === "shape" ? h`<span class="muted small">names only</span>` : sealed(String(e.seq))}</td></tr>`,
              )}</tbody></table>`
            : null
        }
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
      start: r.start,
      network: (head?.events ?? [])
        .filter((e) => e.kind === "fetch")
        .map((e) => ({
          seq: e.seq,
          method: e.op,
          target: e.target,
          status: e.status ?? null,
          at: e.at,
          dur: e.dur ?? null,
        })),
      secrets: fields.flatMap((f) => (f.secret ? [{ path: f.path, name: f.secret }] : [])),
      maxFields: MAX_UNLOCK_FIELDS,
      timeouts: d.timeouts,
      sourceMaps: {
        release,
        mapped: d.sites.bundles.length > 0,
        sites: Object.fromEntries(d.sites.sites),
        releases: d.sites.releases,
      },
    },
  };
}

/** The page's configuration for its script, as a JSON script element. */
export function configScript(config: ExecutionConfig | DiagnosticsConfig): Html {
  return h`<script type="application/json" id="${PAGE_CONFIG_ID}">${jsonScript(config)}</script>`;
}
