/**
 * Where sealed traces go. Workers write to R2; other runtimes use the filesystem or HTTP sinks.
 * @module
 */
import type { TraceSummary } from "../trace/schema.js";

/** One sealed trace ready to store. */
export interface SealedTrace {
  /** Storage key: lists by app, then time. */
  key: string;
  bytes: Uint8Array;
  summary: TraceSummary;
}

/** A destination for sealed traces. `write` may throw; the recorder counts and reports it. */
export interface TraceSink {
  readonly name: string;
  write(trace: SealedTrace): Promise<void>;
  /** Sinks that batch send what they hold (call before shutdown). */
  flush?(): Promise<void>;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `traces/<app>/<YYYY-MM-DD>/<HH>/<HHMMSSmmm>-<id>.cbor`: lexical order is time order per app. */
export function traceKey(summary: Pick<TraceSummary, "app" | "start" | "traceId">): string {
  const d = new Date(summary.start);
  const app = summary.app.replace(/[^A-Za-z0-9._-]/g, "_");
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const hh = pad(d.getUTCHours());
  const stamp = `${hh}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
  return `traces/${app}/${day}/${hh}/${stamp}-${summary.traceId}.cbor`;
}

/**
 * The storage prefix holding a trace, from its app and id alone (ids start with their time):
 * list it and match the `-<traceId>.cbor` suffix.
 */
export function tracePrefix(app: string, traceId: string): string {
  const key = traceKey({ app, traceId, start: Number.parseInt(traceId.slice(0, 12), 16) });
  return key.slice(0, key.lastIndexOf("/") + 1);
}

/** The summary as R2 custom metadata (string values only). */
export function summaryMetadata(summary: TraceSummary): Record<string, string> {
  const hosts = [...new Set(summary.fetches.map((f) => f.host))].join(",").slice(0, 512);
  const out: Record<string, string> = {
    traceId: summary.traceId,
    app: summary.app,
    route: summary.route.slice(0, 512),
    method: summary.method,
    status: String(summary.status),
    outcome: summary.outcome,
    start: String(summary.start),
    durationMs: String(summary.durationMs),
    events: String(Object.values(summary.eventCounts).reduce((a, b) => a + b, 0)),
    runtime: summary.runtime,
    version: "1",
  };
  if (hosts) out.hosts = hosts;
  if (summary.errorClass) out.errorClass = summary.errorClass;
  if (summary.truncated) out.truncated = "1";
  return out;
}
