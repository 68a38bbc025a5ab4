/**
 * The trace format, as zod schemas. These are the single source of truth: TypeScript types are
 * inferred from them and every decoded trace is validated against them.
 *
 * A trace file is one CBOR map `{ format, version, head, sealed }`. `head` is the CBOR encoding of
 * {@link TraceHead} (clear metadata: summary, event list, wrapped data key); `sealed` is the
 * XChaCha20-Poly1305 encryption of the payload list under the per-trace data key, with the format
 * tag and the exact `head` bytes as associated data, so a change anywhere is detected on open.
 * @module
 */
import * as z from "zod/mini";

import {
  EVENT_KINDS,
  HANDLER_KINDS,
  OUTCOMES,
  TRACE_FORMAT,
  TRACE_VERSION,
  type EventKind,
  type HandlerKind,
  type Outcome,
} from "./_kinds.js";

export { EVENT_KINDS, HANDLER_KINDS, OUTCOMES, TRACE_FORMAT, TRACE_VERSION };
export type { EventKind, HandlerKind, Outcome };

const clearValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

/** One boundary crossing, in clear. Its payload, if any, sits sealed at the same index. */
export const TraceEvent = z.object({
  seq: z.int().check(z.nonnegative()),
  kind: z.enum(EVENT_KINDS),
  /** What was done: an HTTP method, a binding method, `now`, `randomUUID`, `log`. */
  op: z.string().check(z.maxLength(256)),
  /** Where: `host/path` for fetch, `BINDING` for bindings, the call name for fluxHost. */
  target: z.string().check(z.maxLength(2048)),
  /** Start offset from the trace start, in microseconds. */
  at: z.int().check(z.nonnegative()),
  /** Duration in microseconds, for calls that take time. */
  dur: z.optional(z.int().check(z.nonnegative())),
  /**
   * Logical tick at completion, for calls: one counter advances on every event recorded and
   * every call completed. Replay serves results in this order; a call finished before another
   * began when its tick, less the completions up to it, is at most the other's seq.
   */
  end: z.optional(z.int().check(z.nonnegative())),
  status: z.optional(z.int()),
  /** Error class (name) when the call failed. */
  error: z.optional(z.string().check(z.maxLength(256))),
  /** True when the call is a write-class effect (KV put, D1 write, Queue send, POST fetch...). */
  write: z.optional(z.boolean()),
  /** The host call (seq) this event happened inside: evidence only, replay leaves it aside. */
  parent: z.optional(z.int().check(z.nonnegative())),
  /** True when some of its payload was cut by the size budget; replay cannot serve it. */
  truncated: z.optional(z.boolean()),
  /** Clear, non-sensitive facts for the dashboard (header names, sizes, masked field names). */
  info: z.optional(z.record(z.string(), clearValue)),
  /**
   * Where the app made the call: its nearest frames of the deployed bundle as
   * `[function, file, line, column]`, FluxRun's own frames left out (no source text).
   */
  site: z.optional(
    z
      .array(
        z.tuple([
          z.string().check(z.maxLength(256)),
          z.string().check(z.maxLength(1024)),
          z.int(),
          z.int(),
        ]),
      )
      .check(z.maxLength(3)),
  ),
});
export type TraceEvent = z.infer<typeof TraceEvent>;

/** The unsealed summary a dashboard indexes. Also stored as R2 custom metadata. */
export const TraceSummary = z.object({
  traceId: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
  app: z.string().check(z.maxLength(128)),
  route: z.string().check(z.maxLength(1024)),
  method: z.string().check(z.maxLength(32)),
  status: z.int(),
  outcome: z.enum(OUTCOMES),
  start: z.int(),
  durationMs: z.number().check(z.nonnegative()),
  eventCounts: z.record(z.string(), z.int().check(z.nonnegative())),
  fetches: z.array(z.object({ host: z.string(), method: z.string(), status: z.optional(z.int()) })),
  errorClass: z.optional(z.string()),
  truncated: z.boolean(),
  runtime: z.string(),
  /** The handler that ran; absent means `fetch` (traces from before handler kinds). */
  handler: z.optional(z.enum(HANDLER_KINDS)),
  /** The class that ran it, for a Durable Object or a named entrypoint. */
  entry: z.optional(z.string().check(z.maxLength(256))),
  /** The release (script version) that ran, when known. */
  release: z.optional(z.string().check(z.maxLength(64))),
  /** The incoming request's `cf-ray` header. */
  cfRay: z.optional(z.string().check(z.maxLength(64))),
  /** The data center that ran it (`request.cf.colo`). */
  colo: z.optional(z.string().check(z.maxLength(16))),
  /** The top frame of the failure's stack, `fn (file:line:col)` of the deployed bundle. */
  topFrame: z.optional(z.string().check(z.maxLength(200))),
});
export type TraceSummary = z.infer<typeof TraceSummary>;

export const TraceHead = z.object({
  id: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
  /**
   * 1: XChaCha20-Poly1305 under a per-trace key; 2: AES-256-GCM under an isolate's key; 3: as 2,
   * in the compact profile with a 72-byte key envelope.
   */
  version: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  /** The id of the key that signed the trace (its origin); absent on unsigned traces. */
  signer: z.optional(z.string().check(z.maxLength(128))),
  summary: TraceSummary,
  /** Whom the data key is wrapped to: a JWE (versions 1, 2) or an X25519 envelope (version 3). */
  recipient: z.union([
    z.object({
      kid: z.string().check(z.maxLength(128)),
      jwe: z.string().check(z.maxLength(4096)),
    }),
    z.object({
      kid: z.string().check(z.maxLength(128)),
      epk: z.custom<Uint8Array>(
        (v) => v instanceof Uint8Array && v.length === 32,
        "expected 32 bytes",
      ),
      wrapped: z.custom<Uint8Array>(
        (v) => v instanceof Uint8Array && v.length === 40,
        "expected 40 bytes",
      ),
    }),
  ]),
  events: z.array(TraceEvent),
  /** Header and JSON-field names the recorder was told to mask: revealed only when named. */
  masks: z.object({ headers: z.array(z.string()), fields: z.array(z.string()) }),
  stats: z.object({
    droppedEvents: z.int().check(z.nonnegative()),
    truncatedPayloads: z.int().check(z.nonnegative()),
    payloadBytes: z.int().check(z.nonnegative()),
  }),
});
export type TraceHead = z.infer<typeof TraceHead>;

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected bytes");

export const TraceFile = z.object({
  format: z.literal(TRACE_FORMAT),
  version: z.int(),
  head: bytes,
  sealed: bytes,
  /** Ed25519 signature of head and sealed block by the head's `signer`; absent when unsigned. */
  sig: z.optional(bytes),
});

/** A payload cut by the size budget: its size and digest survive, its bytes do not. */
export const Truncated = z.object({
  truncated: z.literal(true),
  size: z.int().check(z.nonnegative()),
  sha256: z.string(),
});
export type Truncated = z.infer<typeof Truncated>;

/**
 * A response body the app never read, recorded under `unreadBodies: "digest"` (size and digest)
 * or `"skip"` (the declared size, if any). Replay serves a body that fails when read.
 */
export const Unread = z.object({
  unread: z.literal(true),
  size: z.optional(z.int().check(z.nonnegative())),
  sha256: z.optional(z.string()),
});
export type Unread = z.infer<typeof Unread>;

/** A body: bytes, nothing, a truncation marker, or a marker of a body the app never read. */
export const Body = z.union([bytes, z.null(), Truncated, Unread]);
export type Body = z.infer<typeof Body>;

export const Headers = z.array(z.tuple([z.string(), z.string()]));

export const HttpRequestData = z.object({
  method: z.string(),
  url: z.string(),
  headers: Headers,
  body: Body,
  /** `request.cf` of an incoming request (country, colo, TLS...), handed back in replay. */
  cf: z.optional(z.record(z.string(), z.unknown())),
});
export type HttpRequestData = z.infer<typeof HttpRequestData>;

export const HttpResponseData = z.object({
  status: z.int(),
  statusText: z.string(),
  headers: Headers,
  body: Body,
  /** The URL it came from, after redirects (fetch responses). */
  url: z.optional(z.string()),
  /** True when fetch followed a redirect to get it. */
  redirected: z.optional(z.boolean()),
  /** `basic`, `cors`, `opaque`...; absent for `default`. */
  type: z.optional(z.string()),
});
export type HttpResponseData = z.infer<typeof HttpResponseData>;

export const ErrorData = z.object({
  name: z.string(),
  message: z.string(),
  /** The error's class when its name is not a class name (`DOMException` named `TimeoutError`). */
  type: z.optional(z.string()),
  stack: z.optional(z.string()),
  code: z.optional(z.union([z.string(), z.number()])),
});
export type ErrorData = z.infer<typeof ErrorData>;

/** The sealed payload list: one entry per event, `null` where an event carries none. */
export const Payloads = z.array(z.unknown());
