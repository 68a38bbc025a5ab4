/**
 * The storage contract: where a sealed trace lives (its key) and what travels beside its bytes
 * (the summary as R2 custom metadata). The sinks write it; the dashboard's indexer and ingest,
 * and the agent, read it. Nothing else spells a key or a metadata field.
 *
 * Key layout: `traces/<app>/<YYYY-MM-DD>/<HH>/<HHMMSSmmm>-<traceId>.cbor`, UTC, so a listing of
 * one app is in start-time order. Trace ids start with their start time (12 hex digits of epoch
 * milliseconds), so app and id alone name the hour a trace is in.
 * @module
 */
import { HANDLER_KINDS, OUTCOMES, TRACE_VERSION, type Outcome } from "../trace/_kinds.js";
import type { TraceSummary } from "../trace/schema.js";

export { OUTCOMES, type Outcome };

/** Every trace key starts with this. */
export const TRACE_ROOT = "traces/";

/** A trace id: 32 lowercase hex digits, the first 12 its start time in epoch milliseconds. */
export const TRACE_ID = /^[0-9a-f]{32}$/;

/** Content type of a stored trace object. */
export const TRACE_CONTENT_TYPE = "application/cbor";

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `<YYYY-MM-DD>/<HH>/<HHMMSSmmm>` of an epoch-millisecond time, in UTC. */
function timePath(t: number): string {
  const d = new Date(t);
  const hh = pad(d.getUTCHours());
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return `${day}/${hh}/${hh}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}

/**
 * The key segment of an app name: characters outside `[A-Za-z0-9._-]` become `_`, and so do the
 * dots of a name made only of dots (never a `.` or `..` path segment); an empty name is `_`.
 *
 * @example
 * ```ts
 * appSegment("shop api"); // "shop_api"
 * ```
 */
export function appSegment(app: string): string {
  const segment = app.replace(/[^A-Za-z0-9._-]/g, "_");
  return /^\.*$/.test(segment) ? segment.replace(/\./g, "_") || "_" : segment;
}

/**
 * The prefix holding every trace of an app.
 *
 * @example
 * ```ts
 * appPrefix("shop-api"); // "traces/shop-api/"
 * ```
 */
export function appPrefix(app: string): string {
  return `${TRACE_ROOT}${appSegment(app)}/`;
}

/**
 * The storage key of a trace: lexical order is start-time order within an app.
 *
 * @example
 * ```ts
 * traceKey(summary); // "traces/shop-api/2026-01-02/03/030405006-0194….cbor"
 * ```
 */
export function traceKey(summary: Pick<TraceSummary, "app" | "start" | "traceId">): string {
  return `${appPrefix(summary.app)}${timePath(summary.start)}-${summary.traceId}.cbor`;
}

/** The start time a trace id carries (its first 12 hex digits). */
export function traceIdTime(traceId: string): number {
  return Number.parseInt(traceId.slice(0, 12), 16);
}

/**
 * The prefix (app and hour) holding a trace, from its app and id alone: list it and match the
 * `-<traceId>.cbor` suffix.
 *
 * @example
 * ```ts
 * const list = await bucket.list({ prefix: tracePrefix("shop-api", id) });
 * const hit = list.objects.find((o) => o.key.endsWith(`-${id}.cbor`));
 * ```
 */
export function tracePrefix(app: string, traceId: string): string {
  const key = traceKey({ app, traceId, start: traceIdTime(traceId) });
  return key.slice(0, key.lastIndexOf("/") + 1);
}

/**
 * The key to list an app's prefix after (R2 `startAfter`) to see every trace that started at
 * `time` or later.
 *
 * @example
 * ```ts
 * await bucket.list({ prefix: appPrefix(app), startAfter: keyBefore(app, Date.now() - 300_000) });
 * ```
 */
export function keyBefore(app: string, time: number): string {
  return `${appPrefix(app)}${timePath(time)}`;
}

/** What a trace key says: the app's key segment, the start time and the trace id. */
export interface TraceKeyParts {
  app: string;
  start: number;
  traceId: string;
}

const KEY =
  /^traces\/([A-Za-z0-9._-]{1,128})\/(\d{4})-(\d{2})-(\d{2})\/(\d{2})\/(\d{2})(\d{2})(\d{2})(\d{3})-([0-9a-f]{32})\.cbor$/;

/**
 * Reads a trace key, or null when the key is not in the layout (or its hour folder disagrees
 * with its time).
 *
 * @example
 * ```ts
 * parseTraceKey(obj.key)?.traceId;
 * ```
 */
export function parseTraceKey(key: string): TraceKeyParts | null {
  const m = KEY.exec(key);
  if (!m) return null;
  const [, app, y, mo, d, hour, hh, mi, s, ms, traceId] = m as unknown as string[];
  if (hour !== hh || appSegment(app!) !== app) return null;
  const start = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(hh),
    Number(mi),
    Number(s),
    Number(ms),
  );
  if (!Number.isFinite(start) || traceKey({ app: app!, start, traceId: traceId! }) !== key)
    return null;
  return { app: app!, start, traceId: traceId! };
}

const fail = (field: string): never => {
  throw new RangeError(`The summary's ${field} cannot be stored as trace metadata`);
};

const integer = (field: string, n: number): string =>
  Number.isSafeInteger(n) && /^-?\d{1,16}$/.test(String(n)) ? String(n) : fail(field);

/**
 * The summary as R2 custom metadata (string values only, under R2's 2 KiB), field by field as
 * {@link module:summary}'s `SummaryMetadata` codec encodes {@link indexedSummary} (a test holds
 * the two together): written by hand so the recording path carries no schema library. Throws
 * RangeError for a summary the contract refuses (an empty or over-long app name, say).
 *
 * @example
 * ```ts
 * await bucket.put(traceKey(summary), bytes, { customMetadata: summaryMetadata(summary) });
 * ```
 */
export function summaryMetadata(summary: TraceSummary): Record<string, string> {
  const s = summary;
  if (typeof s.traceId !== "string" || !TRACE_ID.test(s.traceId)) fail("traceId");
  if (typeof s.app !== "string" || s.app.length < 1 || s.app.length > 128) fail("app");
  if (!OUTCOMES.includes(s.outcome)) fail("outcome");
  if (!(typeof s.durationMs === "number" && s.durationMs >= 0)) fail("durationMs");
  const durationMs = String(Math.round(s.durationMs * 1000) / 1000);
  if (!/^\d{1,16}(\.\d{1,3})?$/.test(durationMs)) fail("durationMs");
  let events = 0;
  for (const n of Object.values(s.eventCounts)) events += n;
  const out: Record<string, string> = {
    traceId: s.traceId,
    app: s.app,
    route: String(s.route).slice(0, 512),
    method: String(s.method).slice(0, 32),
    status: integer("status", s.status),
    outcome: s.outcome,
    start: integer("start", s.start),
    durationMs,
    events: integer("events", events),
    hosts: [...new Set(s.fetches.map((f) => f.host))].join(",").slice(0, 512),
  };
  if (s.errorClass !== undefined) out.errorClass = String(s.errorClass).slice(0, 256);
  out.truncated = s.truncated ? "1" : "0";
  out.runtime = (s.runtime ?? "").slice(0, 64);
  out.version = String(TRACE_VERSION);
  if (s.handler !== undefined) {
    if (!HANDLER_KINDS.includes(s.handler)) fail("handler");
    out.handler = s.handler;
  }
  if (s.entry !== undefined) out.entry = String(s.entry).slice(0, 256);
  // Search facts, added while they fit R2's 2 KiB of metadata (the trace head has them anyway).
  let size = 0;
  for (const k in out) size += k.length + utf8Length(out[k]!);
  for (const [k, max] of OPTIONAL_FACTS) {
    const value = s[k];
    if (value === undefined) continue;
    const v = String(value).slice(0, max);
    const added = k.length + utf8Length(v);
    if (size + added > METADATA_BYTES) continue;
    out[k] = v;
    size += added;
  }
  return out;
}

/** R2's limit on an object's custom metadata, keys and values. */
const METADATA_BYTES = 2048;

const OPTIONAL_FACTS: readonly [keyof TraceSummary & string, number][] = [
  ["release", 64],
  ["cfRay", 64],
  ["colo", 16],
  ["topFrame", 200],
];

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3;
  }
  return n;
}
