/**
 * The replay envelope's check as the worker runs it (and its marks, from `_constants.ts`), free of the schema
 * library: {@link module:envelope} declares the same contract as zod schemas for the harness
 * and the agent, and `shapes.test.ts` holds the two to each other.
 * @module
 */
import { arr, check, int, obj, oneOf, opt, str, unknown, withDefault } from "../trace/_shape.js";
import type { Shape } from "../trace/_shape.js";
import { HANDLER_KINDS } from "../trace/_kinds.js";
import { TraceEventShape } from "../trace/_shapes.js";
import type { ReplayEnvelope } from "./envelope.js";
import { ENVELOPE_LIMITS, REPLAY_HEADER, REPLAY_SECRET_VAR } from "./_constants.js";
import type { ReplayPolicy } from "../contract/replay-policy.js";

export { ENVELOPE_LIMITS, REPLAY_HEADER, REPLAY_SECRET_VAR };

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
