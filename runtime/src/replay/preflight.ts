/**
 * Preflight: what a replay of this trace would need, read-only. It reads the clear head only
 * (no key, no payloads) plus, where available, findings of a scan of the worker's code, and
 * never runs user code.
 * @module
 */
import type { PreflightItem, PreflightReport, Readiness } from "../contract/report.js";
import type { TraceHead } from "../trace/schema.js";

export {
  READINESS,
  type PreflightItem,
  type PreflightReport,
  type Readiness,
} from "../contract/report.js";

/** Host APIs FluxRun cannot serve in replay. */
export const UNSUPPORTED_APIS = {
  raw_socket: "raw TCP sockets (cloudflare:sockets connect)",
  websocket: "WebSocket upgrades",
  key_generation: "crypto.subtle key generation",
  unencodable_value: "a value the trace cannot hold (an RPC stub, a function or a stream)",
  node_crypto_random: "node:crypto randomness",
  unsupported_binding: "a binding kind FluxRun does not record",
} as const;
export type UnsupportedApi = keyof typeof UNSUPPORTED_APIS;

/** One use of an unsupported API found in the worker's code. */
export interface CodeFinding {
  api: UnsupportedApi;
  /** `file:line`, or the binding name for config findings. */
  where: string;
  detail: string;
}

function apiOfEvent(op: string): UnsupportedApi {
  if (op === "websocket") return "websocket";
  if (op === "connect") return "raw_socket";
  if (op === "generateKey") return "key_generation";
  return "unsupported_binding";
}

/**
 * Judges whether a trace can be replayed faithfully.
 *
 * @example
 * ```ts
 * const report = preflight(readTrace(bytes).head, { code: await scanWorker(config) });
 * if (report.readiness !== "ready") console.log(report.blockers);
 * ```
 */
export function preflight(
  head: TraceHead,
  options: {
    code?: readonly CodeFinding[];
    /** What each binding's kind says about replay, by binding name (from the wrangler config). */
    notes?: Readonly<Record<string, string>>;
  } = {},
): PreflightReport {
  const blockers: PreflightItem[] = [];
  const warnings: PreflightItem[] = [];
  const groups = new Map<string, PreflightReport["boundaries"][number]>();
  const inPath = new Set<UnsupportedApi>();
  if (head.events[0]?.kind !== "request") {
    blockers.push({
      code: "BLOCK_NO_REQUEST",
      reason: "The trace holds no recorded request to replay",
    });
  }
  for (const e of head.events) {
    let replayable = true;
    if (e.parent !== undefined) {
      // Inside a host call: evidence only; replay serves the host call and never runs its code.
    } else if (e.info?.unencodable !== undefined) {
      replayable = false;
      inPath.add("unencodable_value");
      blockers.push({
        code: "BLOCK_UNSUPPORTED_API",
        seq: e.seq,
        reason: `Event #${e.seq} (${e.kind} ${e.op} ${e.target}) passed ${UNSUPPORTED_APIS.unencodable_value}; replay cannot serve it`,
      });
    } else if (e.kind === "unsupported") {
      replayable = false;
      const api = apiOfEvent(e.op);
      inPath.add(api);
      blockers.push({
        code: "BLOCK_UNSUPPORTED_API",
        seq: e.seq,
        reason: `Event #${e.seq} used ${UNSUPPORTED_APIS[api]} (${e.op} on ${e.target}); replay refuses it`,
      });
    } else if (e.truncated) {
      replayable = e.kind === "response";
      (e.kind === "response" ? warnings : blockers).push({
        code: "BLOCK_TRUNCATED",
        seq: e.seq,
        reason:
          e.kind === "response"
            ? `The recorded response body was cut by the size budget; only its size and digest can be compared`
            : `Event #${e.seq} (${e.kind} ${e.op} ${e.target}) was cut by the size budget; replay cannot serve it`,
      });
    }
    const key = `${e.kind}\0${e.op}\0${e.target}`;
    const g = groups.get(key);
    if (g) {
      g.count++;
      g.replayable &&= replayable;
    } else {
      const note = options.notes?.[e.target.split("/")[0] ?? ""];
      groups.set(key, {
        kind: e.kind,
        op: e.op,
        target: e.target,
        count: 1,
        replayable,
        ...(note === undefined ? {} : { note }),
      });
    }
  }
  if (head.stats.droppedEvents > 0) {
    blockers.push({
      code: "BLOCK_EVENTS_DROPPED",
      reason: `${head.stats.droppedEvents} events were dropped by the event budget; replay would meet calls it cannot serve`,
    });
  }
  for (const f of options.code ?? []) {
    if (inPath.has(f.api)) continue;
    warnings.push({
      code: "WARN_UNSUPPORTED_IN_CODE",
      reason: `${f.where}: ${f.detail} uses ${UNSUPPORTED_APIS[f.api]}; not on this trace's path, but a replay reaching it will be refused`,
    });
  }
  const codeScanned = options.code !== undefined;
  const readiness: Readiness = blockers.length ? "not_ready" : codeScanned ? "ready" : "unknown";
  if (!codeScanned) {
    warnings.push({
      code: "WARN_CODE_NOT_SCANNED",
      reason:
        "The worker's code was not scanned; run fluxrun preflight next to its wrangler config",
    });
  }
  return {
    traceId: head.id,
    route: `${head.summary.method} ${head.summary.route}`,
    readiness,
    blockers,
    warnings,
    boundaries: [...groups.values()],
    codeScanned,
  };
}

/** Renders a preflight report for a terminal. */
export function formatPreflight(r: PreflightReport): string {
  const lines = [`preflight ${r.traceId}  ${r.route}`, `  readiness: ${r.readiness.toUpperCase()}`];
  for (const b of r.blockers) lines.push(`  blocker ${b.code}: ${b.reason}`);
  for (const w of r.warnings) lines.push(`  warning ${w.code}: ${w.reason}`);
  lines.push("  boundaries:");
  for (const b of r.boundaries) {
    lines.push(
      `    ${b.replayable ? "ok  " : "NO  "} ${b.kind} ${b.op} ${b.target}${b.count > 1 ? ` ×${b.count}` : ""}${b.note ? `  (${b.note})` : ""}`,
    );
  }
  return lines.join("\n");
}
