/**
 * The ingest contract (version 1): how a sink without R2 (`httpSink` on Deno or Node) hands
 * sealed traces to the dashboard's `POST /v1/ingest`.
 *
 * - Request: headers `authorization: Bearer <the app's ingest token>`, `x-fluxrun-ingest: 1`,
 *   `content-type: application/cbor` or `application/json`; the body is an array of
 *   1..{@link INGEST_LIMITS}.maxItems {@link IngestItem}s `{ key, bytes, summary }` (in JSON,
 *   `bytes` is standard base64 with padding). `summary.traceId` is the idempotency key.
 * - The summary and key are a convenience copy: the dashboard indexes the summary it reads from
 *   the trace's own clear head, and rejects an item whose sent key or summary disagrees with it.
 * - Response: 2xx with {@link IngestResponse} `{ results: [{ traceId, status, reason? }] }`, one
 *   result per item: `stored`, `duplicate` (already held: not an error) or `rejected` with a
 *   short {@link IngestRejectReason}, never payload text. An item without a result counts as
 *   stored.
 * - Errors: 401/403 (token), 400 (the body is not a batch), 413 and other 4xx refuse the whole
 *   batch and are not retried; 408, 429, 5xx and network errors are retried (`Retry-After`
 *   seconds honoured). A sink never re-sends a trace id after a success.
 * - Loss: a sink that dropped traces since its last acknowledged batch sends the envelope
 *   `{ items, dropped: { <reason>: count } }` ({@link IngestEnvelope}) instead of the bare array,
 *   counts by {@link SINK_DROP_REASONS}; a 2xx answer acknowledges them (they are not sent again).
 *   A dashboard reads either form with {@link decodeIngestRequest}.
 * @module
 */
import * as z from "zod/mini";
import { decodeCbor, encodeCbor } from "../trace/_cbor.js";
import { TraceSummary } from "../trace/schema.js";

export const INGEST_PATH = "/v1/ingest";
/** Header naming the protocol version a sink speaks. */
export const INGEST_VERSION_HEADER = "x-fluxrun-ingest";
export const INGEST_VERSION = "1";

export const INGEST_LIMITS = {
  /** Items per request. */
  maxItems: 100,
  /** Bytes of one sealed trace: the recorder's 4 MiB payload budget plus its head. */
  maxTraceBytes: 5 * 1024 * 1024,
  /** Bytes of one request body (base64 JSON included). */
  maxBodyBytes: 16 * 1024 * 1024,
} as const;

export const INGEST_ENCODINGS = {
  cbor: "application/cbor",
  json: "application/json",
} as const;
export type IngestEncoding = keyof typeof INGEST_ENCODINGS;

const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected bytes");

/** One trace in a batch. */
export const IngestItem = z.object({
  key: z.string().check(z.maxLength(1024)),
  bytes: Bytes,
  summary: TraceSummary,
});
export type IngestItem = z.infer<typeof IngestItem>;

/** The JSON form of an item: the same, with `bytes` in base64. */
const JsonIngestItem = z.object({
  ...IngestItem.shape,
  bytes: z.codec(z.base64(), Bytes, {
    decode: (s) => z.util.base64ToUint8Array(s),
    encode: (b) => z.util.uint8ArrayToBase64(b),
  }),
});

export const INGEST_STATUSES = ["stored", "duplicate", "rejected"] as const;
export type IngestStatus = (typeof INGEST_STATUSES)[number];

export const INGEST_REJECT_REASONS = [
  /** Not an item of this contract. */
  "schema",
  /** Over {@link INGEST_LIMITS}.maxTraceBytes. */
  "too_large",
  /** The bytes are not a trace this dashboard reads. */
  "unreadable",
  /** The trace is for another app than the token's. */
  "app_mismatch",
  /** The sent key is not the trace's key. */
  "key_mismatch",
  /** The app signs its traces (a key is registered) and this one is unsigned. */
  "unsigned",
  /** The trace's signature does not verify, or is by a key not registered for the app. */
  "forged",
  /** The sent summary is not the trace's own. */
  "summary_mismatch",
] as const;
export type IngestRejectReason = (typeof INGEST_REJECT_REASONS)[number];

/** Why a sink finally gave a trace up (counted, never silent). */
export const SINK_DROP_REASONS = [
  /** The store (an R2 put, an ingest request) did not answer in time on every attempt. */
  "timeout",
  /** The store failed on every attempt (an R2 error, the ingest endpoint down, no spool). */
  "unreachable",
  /** The ingest endpoint refused the trace (4xx, or `rejected` in its results). */
  "rejected",
  /** The sink's memory queue was full and it has no spool. */
  "overflow",
  /** The spool was full. */
  "spool_full",
  /** The trace is larger than the spool takes (a Queue message is at most 128 KB). */
  "too_large",
] as const;
export type SinkDropReason = (typeof SINK_DROP_REASONS)[number];

/** Traces dropped, by reason (reasons with no drop are left out). */
export const SinkDrops = z.partialRecord(
  z.enum(SINK_DROP_REASONS),
  z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
);
export type SinkDrops = z.infer<typeof SinkDrops>;

export const IngestResult = z.object({
  traceId: z.string().check(z.maxLength(64)),
  status: z.enum(INGEST_STATUSES),
  reason: z.optional(z.enum(INGEST_REJECT_REASONS)),
});
export type IngestResult = z.infer<typeof IngestResult>;

export const IngestResponse = z.object({ results: z.array(IngestResult) });
export type IngestResponse = z.infer<typeof IngestResponse>;

/**
 * A trace kept in an HTTP sink's spool while ingest is unreachable: a file of the disk spool, or
 * the body of a Queue message (the `fluxrun` marker tells a queue handler FluxRun's own messages
 * from the app's). Sent to ingest again as an {@link IngestItem}.
 */
export const SpooledTrace = z.object({
  fluxrun: z.literal("spool/1"),
  ...IngestItem.shape,
});
export type SpooledTrace = z.infer<typeof SpooledTrace>;

/** The batch with the sink's loss since its last acknowledged batch (sent only when any). */
export interface IngestEnvelope {
  items: IngestItem[];
  dropped: SinkDrops;
}

/** Drops worth sending: positive counts of known reasons only. */
function someDrops(dropped: SinkDrops | undefined): SinkDrops | undefined {
  if (!dropped) return undefined;
  const out: SinkDrops = {};
  for (const reason of SINK_DROP_REASONS) {
    const n = dropped[reason];
    if (n !== undefined && n > 0) out[reason] = n;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * The body and content type of a batch: the bare array, or the {@link IngestEnvelope} when
 * `dropped` counts anything.
 *
 * @example
 * ```ts
 * const { body, contentType } = encodeIngestBatch(items, "cbor", { dropped: { timeout: 2 } });
 * ```
 */
export function encodeIngestBatch(
  items: readonly IngestItem[],
  encoding: IngestEncoding,
  options: { dropped?: SinkDrops } = {},
): { body: Uint8Array | string; contentType: string } {
  const plain = items.map(({ key, bytes, summary }) => ({ key, bytes, summary }));
  const dropped = someDrops(options.dropped);
  if (encoding === "cbor") {
    return {
      body: encodeCbor(dropped ? { items: plain, dropped } : plain),
      contentType: INGEST_ENCODINGS.cbor,
    };
  }
  const json = plain.map((item) => z.encode(JsonIngestItem, item));
  return {
    body: JSON.stringify(dropped ? { items: json, dropped } : json),
    contentType: INGEST_ENCODINGS.json,
  };
}

/** A batch as received: each entry an item, or the trace id it names (null: none) and why not. */
export type DecodedEntry =
  | { ok: true; item: IngestItem }
  | { ok: false; traceId: string | null; reason: IngestRejectReason };

/**
 * Reads a request body into its entries, or null when it is not a batch at all (not an array of
 * 1..maxItems, or not CBOR/JSON). An entry that does not match {@link IngestItem} is kept with the
 * trace id it names, so it can be answered `rejected`.
 *
 * @example
 * ```ts
 * const entries = decodeIngestBatch(new Uint8Array(await req.arrayBuffer()), req.headers.get("content-type"));
 * ```
 */
export function decodeIngestBatch(
  body: Uint8Array,
  contentType: string | null,
): DecodedEntry[] | null {
  return decodeIngestRequest(body, contentType)?.entries ?? null;
}

/**
 * Reads a request body (the bare array or the {@link IngestEnvelope}) into its entries and the
 * sink's reported drops (`{}` when none, or when the counts do not match {@link SinkDrops}: a
 * bad count never refuses the traces). Null when the body is not a batch at all.
 *
 * @example
 * ```ts
 * const req = decodeIngestRequest(body, contentType);
 * if (req) recordLoss(app, req.dropped);
 * ```
 */
export function decodeIngestRequest(
  body: Uint8Array,
  contentType: string | null,
): { entries: DecodedEntry[]; dropped: SinkDrops } | null {
  const json = (contentType ?? "").toLowerCase().startsWith(INGEST_ENCODINGS.json);
  let raw: unknown;
  try {
    raw = json
      ? JSON.parse(new TextDecoder().decode(body))
      : decodeCbor(body, {
          limits: { maxBytes: INGEST_LIMITS.maxBodyBytes },
          what: "ingest batch",
        });
  } catch {
    return null;
  }
  let dropped: SinkDrops = {};
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    const envelope = raw as { items?: unknown; dropped?: unknown };
    dropped = someDrops(SinkDrops.safeParse(envelope.dropped).data) ?? {};
    raw = envelope.items;
  }
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > INGEST_LIMITS.maxItems) return null;
  const entries = raw.map((entry: unknown): DecodedEntry => {
    const parsed = json
      ? z.safeDecode(JsonIngestItem, entry as never)
      : IngestItem.safeParse(entry);
    if (parsed.success) return { ok: true, item: parsed.data };
    const id = (entry as { summary?: { traceId?: unknown } } | null)?.summary?.traceId;
    return {
      ok: false,
      traceId: typeof id === "string" && id.length <= 64 ? id : null,
      reason: "schema",
    };
  });
  return { entries, dropped };
}

/**
 * True when a failed request may be sent again: 408, 429, 5xx.
 *
 * @example
 * ```ts
 * if (!res.ok && !retryableStatus(res.status)) giveUp();
 * ```
 */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
