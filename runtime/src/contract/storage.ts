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
import * as z from "zod/mini";
import {
  HANDLER_KINDS,
  OUTCOMES,
  TRACE_VERSION,
  type Outcome,
  type TraceSummary,
} from "../trace/schema.js";

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

/** A string field cut to `max` characters when written. */
const text = (max: number) =>
  z.codec(z.string().check(z.maxLength(max)), z.string(), {
    decode: (s) => s,
    encode: (s) => s.slice(0, max),
  });

const integer = z.codec(z.string().check(z.regex(/^-?\d{1,16}$/)), z.int(), {
  decode: Number,
  encode: String,
});

/** Milliseconds, written with at most three decimals. */
const millis = z.codec(
  z.string().check(z.regex(/^\d{1,16}(\.\d{1,3})?$/)),
  z.number().check(z.nonnegative()),
  { decode: Number, encode: (n) => String(Math.round(n * 1000) / 1000) },
);

const flag = z.codec(z.enum(["1", "0", "true", "false"]), z.boolean(), {
  decode: (s) => s === "1" || s === "true",
  encode: (b) => (b ? "1" : "0"),
});

/**
 * The summary as R2 custom metadata (string values only, under R2's 2 KiB): decoding gives the
 * {@link IndexedSummary} an index stores, encoding writes it. A field of {@link TraceSummary} with
 * the same name is copied by {@link indexedSummary}: adding an (optional) summary field to the
 * index is one line here.
 */
export const SummaryMetadata = z.object({
  traceId: z.string().check(z.regex(TRACE_ID)),
  app: z.string().check(z.minLength(1), z.maxLength(128)),
  route: text(512),
  method: text(32),
  status: integer,
  outcome: z.enum(OUTCOMES),
  start: integer,
  durationMs: millis,
  /** Events in the trace, all kinds. */
  events: integer,
  /** Distinct hosts of the outbound fetches, comma-separated. */
  hosts: z._default(text(512), ""),
  errorClass: z.optional(text(256)),
  truncated: z._default(flag, false),
  runtime: z._default(text(64), ""),
  /** Trace format version. */
  version: z._default(text(16), ""),
  /** The handler that ran; absent means `fetch`. */
  handler: z.optional(z.enum(HANDLER_KINDS)),
  /** The Durable Object or entrypoint class that ran it. */
  entry: z.optional(text(256)),
});

/** What an index knows of a trace without reading it: the decoded {@link SummaryMetadata}. */
export type IndexedSummary = z.output<typeof SummaryMetadata>;

const COPIED = Object.keys(SummaryMetadata.shape).filter(
  (k) => !["events", "hosts", "version"].includes(k),
) as (keyof IndexedSummary & keyof TraceSummary)[];

/**
 * The index's view of a full summary (what the metadata holds, and what an index row is made
 * of when a trace is read instead).
 *
 * @example
 * ```ts
 * const row = { ...indexedSummary(readTrace(bytes).head.summary), r2Key: key };
 * ```
 */
export function indexedSummary(
  summary: TraceSummary,
  options: { version?: number } = {},
): IndexedSummary {
  const copied: Record<string, unknown> = {};
  for (const k of COPIED) if (summary[k] !== undefined) copied[k] = summary[k];
  return z.decode(
    SummaryMetadata,
    z.encode(SummaryMetadata, {
      ...(copied as Pick<IndexedSummary, (typeof COPIED)[number]>),
      events: Object.values(summary.eventCounts).reduce((a, b) => a + b, 0),
      hosts: [...new Set(summary.fetches.map((f) => f.host))].join(","),
      version: String(options.version ?? TRACE_VERSION),
    }),
  );
}

/**
 * The summary as R2 custom metadata.
 *
 * @example
 * ```ts
 * await bucket.put(traceKey(summary), bytes, { customMetadata: summaryMetadata(summary) });
 * ```
 */
export function summaryMetadata(summary: TraceSummary): Record<string, string> {
  const encoded = z.encode(SummaryMetadata, indexedSummary(summary));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(encoded)) if (typeof v === "string") out[k] = v;
  return out;
}

const FIELD_BY_LOWER_CASE = new Map(
  Object.keys(SummaryMetadata.shape).map((k) => [k.toLowerCase(), k]),
);

/**
 * Reads R2 custom metadata back, or null when it is not a FluxRun summary. Keys match in any case
 * (R2's S3 API answers them lowercased).
 *
 * @example
 * ```ts
 * const indexed = readSummaryMetadata(obj.customMetadata);
 * ```
 */
export function readSummaryMetadata(
  metadata: Record<string, string> | undefined,
): IndexedSummary | null {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    fields[FIELD_BY_LOWER_CASE.get(k.toLowerCase()) ?? k] = v;
  }
  const parsed = SummaryMetadata.safeParse(fields);
  return parsed.success ? parsed.data : null;
}
