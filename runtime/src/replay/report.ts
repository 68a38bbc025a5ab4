/**
 * The replay report: verdict, recorded vs replayed outcome, divergences as data, unconsumed
 * events. One object, rendered as text by the CLI and sent as JSON by the agent. Outcomes show
 * bodies as sizes and digests; divergences carry the differing values themselves (`diff`) only
 * when the report is built with `values` (where the private key is held: the CLI, the agent),
 * with masked headers and fields masked; without it, digests.
 * @module
 */
import type { CallSite, Divergence, OutcomeView, ReplayReport } from "../contract/report.js";
import { digest } from "./divergence.js";
import { describeBody } from "../internal/describe.js";
import type { ReplayResult } from "./envelope.js";
import type { ErrorData, HttpResponseData, TraceEvent, TraceHead } from "../trace/schema.js";
import { changedHeaders, sameBody } from "../internal/compare-http.js";
import { sameError, sameValue } from "../internal/values.js";
import { encodeCbor } from "../trace/_cbor.js";
import type { ReplayPolicy } from "./policy.js";
import { diffMessages, diffValues, type DiffEntry } from "../internal/diff.js";

export type { OutcomeView, ReplayReport } from "../contract/report.js";

function view(
  response: HttpResponseData | null,
  error: ErrorData | null,
  returned: unknown,
): OutcomeView {
  return {
    status: response?.status ?? null,
    headers: response ? [...new Set(response.headers.map(([n]) => n))].sort() : [],
    body:
      response || returned === undefined
        ? describeBody(response?.body)
        : `returned ${digest(encodeCbor(returned))}`,
    error: error ? { name: error.name } : null,
  };
}

/** How an execution ended: a response (fetch), a returned value (other handlers) or an error. */
export interface Outcome {
  response: HttpResponseData | null;
  error: ErrorData | null;
  returned?: unknown;
  event: TraceEvent | undefined;
}

/** The recorded outcome of a trace: its response, returned value or thrown error. */
export function recordedOutcome(head: TraceHead, payloads: unknown[]): Outcome {
  const event = head.events.find((e) => e.kind === "response" || e.kind === "exception");
  if (!event) return { response: null, error: null, event };
  const p = payloads[event.seq];
  if (event.kind === "exception") return { response: null, error: p as ErrorData, event };
  if ((head.summary.handler ?? "fetch") !== "fetch") {
    return { response: null, error: null, returned: p === null ? undefined : p, event };
  }
  return { response: p as HttpResponseData, error: null, event };
}

/** What a report is built from besides the trace and the result. */
export interface ReportOptions {
  /** Requests that reached the network around FluxRun during the replay. */
  liveNetworkAttempts?: number;
  policy?: ReplayPolicy;
  /** Show differing values (masked headers and fields stay masked); default: digests only. */
  values?: boolean;
}

const MASKED = "[masked]";

/** Masks what the trace says is masked: named headers, and JSON fields of bodies. */
function masked(entry: DiffEntry, masks: TraceHead["masks"]): DiffEntry {
  const headers = new Set(masks.headers.map((h) => h.toLowerCase()));
  const m = /^headers\.(.+)$/.exec(entry.path);
  const field = /^(?:body|value|args\.\d+)\.(.+)$/.exec(entry.path)?.[1];
  const hidden =
    (m && headers.has(m[1]!.toLowerCase())) ||
    (field !== undefined &&
      masks.fields.some((f) => field === f || field.startsWith(`${f}.`) || matchesWild(f, field)));
  return hidden ? { ...entry, expected: MASKED, actual: MASKED } : entry;
}

function matchesWild(pattern: string, path: string): boolean {
  const p = pattern.split(".");
  const q = path.split(".");
  return p.length <= q.length && p.every((part, i) => part === "*" || part === q[i]);
}

/** A value as its digest, for reports built without values. */
function digested(value: unknown): string {
  return value === null ? "null" : digest(encodeCbor(value));
}

/** The diffs of every divergence, masked, and as digests unless values are shown. */
function finishDiffs(divergences: Divergence[], masks: TraceHead["masks"], values: boolean) {
  return divergences.map((d) => {
    if (!d.diff) return d;
    const diff = d.diff.map((e) => {
      const m = masked(e, masks);
      return values || m.expected === MASKED
        ? m
        : { path: m.path, expected: digested(m.expected), actual: digested(m.actual) };
    });
    return { ...d, diff };
  });
}

/** Compares the replayed outcome with the recorded one and builds the report. */
export function buildReport(
  trace: { head: TraceHead; payloads: unknown[] },
  result: ReplayResult,
  options: ReportOptions = {},
): ReplayReport {
  const { head, payloads } = trace;
  const { policy } = options;
  const liveNetworkAttempts = options.liveNetworkAttempts ?? 0;
  const rec = recordedOutcome(head, payloads);
  const divergences: Divergence[] = [...result.divergences];
  const fields: string[] = [];
  if ((rec.response?.status ?? null) !== (result.response?.status ?? null)) fields.push("status");
  if (rec.response && result.response) {
    fields.push(...changedHeaders(rec.response.headers, result.response.headers, policy));
    if (!sameBody(rec.response.body, result.response.body, policy)) fields.push("body");
  }
  if (!sameError(rec.error, result.error)) fields.push("error");
  if (!sameValue(rec.returned ?? null, result.returned ?? null)) fields.push("returned");
  const recorded = view(rec.response, rec.error, rec.returned);
  const replayed = view(result.response, result.error, result.returned);
  if (fields.length) {
    const diff: DiffEntry[] = [];
    if (rec.response || result.response) {
      diff.push(...diffMessages(rec.response ?? {}, result.response ?? {}));
    }
    if (fields.includes("error")) {
      diff.push(
        ...diffValues(
          rec.error ? { name: rec.error.name, message: rec.error.message } : null,
          result.error ? { name: result.error.name, message: result.error.message } : null,
          "error",
        ),
      );
    }
    if (fields.includes("returned")) {
      diff.push(...diffValues(rec.returned ?? null, result.returned ?? null, "returned"));
    }
    divergences.push({
      code: "changed_outcome",
      seq: rec.event?.seq ?? null,
      kind: rec.event?.kind ?? "response",
      op: rec.event?.op ?? "",
      target: head.summary.route,
      message: `The outcome changed: ${fields.join(", ")}`,
      fields,
      expected: recorded,
      actual: replayed,
      ...(diff.length ? { diff } : {}),
    });
  }
  for (let i = 0; i < liveNetworkAttempts; i++) {
    divergences.push({
      code: "live_network",
      seq: null,
      kind: "network",
      op: "fetch",
      target: "(outbound)",
      message: "The worker tried to reach the network around FluxRun; the attempt was blocked",
    });
  }
  const bySeq = new Map(head.events.map((e) => [e.seq, e]));
  return {
    traceId: head.id,
    app: head.summary.app,
    route: head.summary.route,
    method: head.summary.method,
    recordedAt: new Date(head.summary.start).toISOString(),
    verdict: divergences.length ? "diverged" : "match",
    recorded,
    replayed,
    divergences: finishDiffs(divergences, head.masks, options.values === true),
    unconsumed: result.unconsumed.map((seq) => {
      const e = bySeq.get(seq);
      return { seq, kind: e?.kind ?? "?", op: e?.op ?? "?", target: e?.target ?? "?" };
    }),
    served: result.served.length,
    liveNetworkAttempts,
    liveAllowed: result.live,
    boundaries: result.served
      .map((seq) => bySeq.get(seq))
      .filter(
        (e): e is TraceEvent =>
          !!e && (e.kind === "fetch" || e.kind === "host" || e.kind === "binding"),
      )
      .map((e) => `${e.kind} ${e.op} ${e.target}`),
    ...(result.release ? { replayedRelease: result.release } : {}),
  };
}

function outcomeLine(o: OutcomeView): string {
  if (o.error) return `threw ${o.error.name}`;
  if (o.status === null) return "no response";
  return `${o.status}${o.body ? ` · ${o.body}` : ""}`;
}

function policyLine(p: NonNullable<ReplayReport["policy"]>): string {
  const which = p.version === undefined ? "" : ` v${p.version}`;
  const why = p.diagnostic ? ` (${p.diagnostic.code}: ${p.diagnostic.message})` : "";
  switch (p.status) {
    case "reviewed":
      return `reviewed${which}${p.app ? ` of ${p.app}` : ""}${p.source === "file" ? " (as pulled)" : ""}`;
    case "unreviewed":
      return `UNREVIEWED local policy${why}`;
    case "rejected":
      return `IGNORED, replayed deny-all${why}`;
    case "none":
      return "none (deny-all)";
  }
}

function show(value: unknown): string {
  if (value === undefined) return "";
  return JSON.stringify(value);
}

/** Renders a report for a terminal. */
export function formatReport(report: ReplayReport): string {
  const lines = [
    `trace ${report.traceId}  ${report.method} ${report.route}  (${report.app}, recorded ${report.recordedAt})`,
    `  recorded: ${outcomeLine(report.recorded)}`,
    `  replayed: ${outcomeLine(report.replayed)}`,
    `  verdict:  ${report.verdict === "match" ? "MATCH" : `DIVERGED (${report.divergences.length})`}  · ${report.served} recorded events served · ${report.liveNetworkAttempts} live network attempts`,
  ];
  if (report.origin) {
    lines.push(
      report.origin.status === "verified"
        ? `  origin:   verified (signed by ${report.origin.signer})`
        : `  origin:   UNVERIFIED (${report.origin.reason === "unsigned" ? "the trace is unsigned" : "no verification key for this app: --verify-key or .fluxrun/signing-public.jwk"})`,
    );
  }
  if (report.policy) lines.push(`  policy:   ${policyLine(report.policy)}`);
  if (report.replayedRelease)
    lines.push(`  build:    release ${report.replayedRelease} replayed it`);
  report.divergences.forEach((d, i) => {
    lines.push(
      `  ${i + 1}. ${d.code}${d.seq === null ? "" : ` at event #${d.seq}`} [${d.kind} ${d.op} ${d.target}]: ${d.message}`,
    );
    const where = (frames?: CallSite[]) => {
      const f = frames?.[0];
      return f ? `${f[1]}:${f[2]}:${f[3]}${f[0] ? ` (${f[0]})` : ""}` : undefined;
    };
    const recordedAt = where(d.site?.recorded);
    const replayedAt = where(d.site?.replayed);
    if (recordedAt) lines.push(`     recorded at ${recordedAt}`);
    if (replayedAt) lines.push(`     replayed at ${replayedAt}`);
    if (d.count !== undefined && d.count > 1) lines.push(`     made ${d.count} times (retried)`);
    if (d.diff?.length) {
      for (const e of d.diff) {
        lines.push(`     ${e.path}: ${show(e.expected)} → ${show(e.actual)}`);
      }
    } else {
      if (d.fields?.length) lines.push(`     fields:   ${d.fields.join(", ")}`);
      if (d.expected !== undefined) lines.push(`     expected: ${show(d.expected)}`);
      if (d.actual !== undefined) lines.push(`     actual:   ${show(d.actual)}`);
    }
    if (d.closest)
      lines.push(`     closest recorded: #${d.closest.seq} ${d.closest.op} ${d.closest.target}`);
  });
  if (report.unconsumed.length) {
    lines.push(
      `  unconsumed: ${report.unconsumed.map((u) => `#${u.seq} ${u.kind} ${u.op} ${u.target}`).join("; ")}`,
    );
  }
  return lines.join("\n");
}
