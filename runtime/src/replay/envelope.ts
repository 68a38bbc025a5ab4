/**
 * The replay envelope a harness (CLI, agent) sends into the app, and the result it gets back.
 * Both are CBOR. The envelope carries an opened trace, so it only ever travels between the
 * customer's own processes (the local harness, or the agent over a service binding).
 * @module
 */
import * as z from "zod/mini";
import { ENVELOPE_LIMITS, REPLAY_HEADER, REPLAY_SECRET_VAR } from "./_constants.js";
import { ErrorData, HANDLER_KINDS, HttpResponseData, TraceEvent } from "../trace/schema.js";
import { ReplayPolicy } from "./policy.js";
import { Divergence } from "../contract/report.js";

export { ENVELOPE_LIMITS, REPLAY_HEADER, REPLAY_SECRET_VAR };

export const ReplayEnvelope = z.object({
  version: z.literal(1),
  traceId: z.string(),
  /** The handler to run (from the trace's summary); absent means `fetch`. */
  handler: z.optional(z.enum(HANDLER_KINDS)),
  /** The Durable Object or entrypoint class that ran it, if not the default export. */
  entry: z.optional(z.string()),
  events: z.array(TraceEvent),
  payloads: z.array(z.unknown()),
  /** Live read-only effects allowed and noise to ignore; default deny-all. */
  policy: z.optional(ReplayPolicy),
});
export type ReplayEnvelope = z.infer<typeof ReplayEnvelope>;

/** A divergence as the app reports it: the report contract's {@link Divergence}. */
export const DivergenceData = Divergence;

export const ReplayResult = z.object({
  version: z.literal(1),
  traceId: z.string(),
  response: z.nullable(HttpResponseData),
  error: z.nullable(ErrorData),
  /** What a non-fetch handler returned (an RPC method's value). */
  returned: z.optional(z.unknown()),
  divergences: z.array(DivergenceData),
  served: z.array(z.int()),
  unconsumed: z.array(z.int()),
  console: z.int(),
  /** Live read-only calls the policy let through. */
  live: z._default(z.array(z.object({ op: z.string(), target: z.string() })), []),
  /** The release of the build that replayed it (its `release` option or FLUX_RELEASE...). */
  release: z.optional(z.string()),
});
export type ReplayResult = z.infer<typeof ReplayResult>;
