/**
 * The summary as R2 custom metadata, read side: the {@link SummaryMetadata} codec, the
 * {@link IndexedSummary} an index stores, and reading metadata back. The write side,
 * `summaryMetadata`, sits with the key layout in {@link module:storage}.
 * @module
 */
import * as z from "zod/mini";
import { HANDLER_KINDS, OUTCOMES, TRACE_VERSION } from "../trace/_kinds.js";
import type { TraceSummary } from "../trace/schema.js";
import { TRACE_ID } from "./storage.js";

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
  /** The release (script version) that ran. */
  release: z.optional(text(64)),
  /** The request's `cf-ray` header. */
  cfRay: z.optional(text(64)),
  /** The data center that ran it. */
  colo: z.optional(text(16)),
  /** The top frame of the failure's stack (`fn (file:line:col)`, deployed bundle). */
  topFrame: z.optional(text(200)),
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
