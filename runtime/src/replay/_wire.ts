/**
 * The replay envelope's constants and its check as the worker runs it, free of the schema
 * library: {@link module:envelope} declares the same contract as zod schemas for the harness
 * and the agent, and `shapes.test.ts` holds the two to each other.
 * @module
 */
import { arr, check, int, obj, oneOf, opt, str, unknown, withDefault } from "../internal/_shape.js";
import type { Shape } from "../internal/_shape.js";
import { HEAD_LIMITS, PAYLOAD_LIMITS, type DecodeLimits } from "../trace/_decode.js";
import { HANDLER_KINDS } from "../trace/_kinds.js";
import { TraceEventShape } from "../trace/_shapes.js";
import type { ReplayEnvelope } from "./envelope.js";
import type { ReplayPolicy } from "./policy.js";

/** Request header that marks a replay; honoured only when it matches env.__FLUX_REPLAY. */
export const REPLAY_HEADER = "x-fluxrun-replay";
/** Env var holding the per-run replay secret (set by the harness, never in production). */
export const REPLAY_SECRET_VAR = "__FLUX_REPLAY";

/**
 * Decode limits for an envelope and for a replay result: each carries a trace's events and
 * payloads (or values taken from them), so both trace budgets together.
 */
export const ENVELOPE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxBytes: HEAD_LIMITS.maxBytes + PAYLOAD_LIMITS.maxBytes,
  maxDepth: PAYLOAD_LIMITS.maxDepth + HEAD_LIMITS.maxDepth,
  maxItems: HEAD_LIMITS.maxItems + PAYLOAD_LIMITS.maxItems,
  maxStringBytes: PAYLOAD_LIMITS.maxStringBytes,
});

const AllowRuleShape = obj(
  {
    kind: oneOf(["fetch"] as const),
    method: oneOf(["GET", "HEAD"] as const),
    host: str(Infinity, 1, /^[A-Za-z0-9.-]+(:\d+)?$/),
    path: opt(str(Infinity, 0, /^\//)),
  },
  { strict: true },
);

/** The policy's check (mirrors {@link ReplayPolicy}'s zod schema). */
export const ReplayPolicyShape: Shape<ReplayPolicy> = obj(
  {
    version: oneOf([1] as const),
    allow: withDefault(arr(AllowRuleShape), () => []),
    ignore: withDefault(
      obj(
        {
          headers: withDefault(arr(str(Infinity, 1)), () => []),
          jsonPaths: withDefault(arr(str(Infinity, 0, /^[^.]+(\.[^.]+)*$/)), () => []),
        },
        { strict: true },
      ),
      () => ({ headers: [], jsonPaths: [] }),
    ),
  },
  { strict: true },
);

/** The envelope's check (mirrors {@link ReplayEnvelope}'s zod schema). */
export const ReplayEnvelopeShape: Shape<ReplayEnvelope> = obj({
  version: oneOf([1] as const),
  traceId: str(),
  handler: opt(oneOf(HANDLER_KINDS)),
  entry: opt(str()),
  events: arr(TraceEventShape),
  payloads: arr(unknown),
  policy: opt(ReplayPolicyShape),
});

/** Checks a decoded envelope, stopping at the first issue. */
export function checkEnvelope(value: unknown): ReturnType<typeof check<ReplayEnvelope>> {
  return check(ReplayEnvelopeShape, value);
}
