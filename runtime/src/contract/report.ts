/**
 * The replay report contract: what a replay found (verdict, recorded vs replayed outcome,
 * divergences as data, unconsumed events) and what a preflight judged. The runtime builds them,
 * the CLI prints them, the agent sends them as JSON, the dashboard renders and stores them. No
 * field holds a payload: bodies are sizes and digests, URLs lose their query values. Sizes are
 * not bounded here (a replay reports what it found); a receiver bounds the body it accepts.
 * @module
 */
import * as z from "zod/mini";
import { EVENT_KINDS, TraceEvent } from "../trace/schema.js";
import { TRACE_ID as TRACE_ID_PATTERN } from "./storage.js";
import { PolicyView } from "./policy.js";

const TRACE_ID = z.string().check(z.regex(TRACE_ID_PATTERN));

export const DIVERGENCE_CODES = [
  "extra_call",
  "missing_call",
  "reordered",
  "changed_request",
  "changed_outcome",
  "unsupported",
  "truncated",
  "live_network",
  "unread_body",
] as const;
export type DivergenceCode = (typeof DIVERGENCE_CODES)[number];

/** A call in a report: enough to tell calls apart, never a payload. */
export const CallDescription = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]),
);
export type CallDescription = z.infer<typeof CallDescription>;

/** One differing value, by path (`url`, `headers.<name>`, `body.<field>`, `returned`...). */
export const DiffEntry = z.object({ path: z.string(), expected: z.unknown(), actual: z.unknown() });
export type DiffEntry = z.infer<typeof DiffEntry>;

/** A frame of the deployed bundle, as the trace records it: `[function, file, line, column]`. */
export type CallSite = NonNullable<TraceEvent["site"]>[number];

/** One difference between the recording and the replay, like a zod issue. */
export const Divergence = z.object({
  code: z.enum(DIVERGENCE_CODES),
  /** The recorded event concerned, or null for a call the recording lacks. */
  seq: z.nullable(z.int()),
  kind: z.union([z.enum(EVENT_KINDS), z.literal("network")]),
  op: z.string(),
  target: z.string(),
  message: z.string(),
  /** Request fields that differ (method, url, headers, body, args...). */
  fields: z.optional(z.array(z.string())),
  expected: z.optional(z.unknown()),
  actual: z.optional(z.unknown()),
  /** For an extra call: the closest recorded call not yet served. */
  closest: z.optional(z.nullable(z.object({ seq: z.int(), op: z.string(), target: z.string() }))),
  /** How many times the replay made this call: more than 1 means it was retried. */
  count: z.optional(z.int()),
  /** The differing values, by path (digests unless the report shows values). */
  diff: z.optional(z.array(DiffEntry)),
  /** Where the recorded call and the replayed one were made: `[function, file, line, column]`. */
  site: z.optional(z.object({ recorded: TraceEvent.shape.site, replayed: TraceEvent.shape.site })),
});
export type Divergence = z.infer<typeof Divergence>;

/** An outcome as a report shows it: status, header names, body size and digest, error class. */
export const OutcomeView = z.object({
  status: z.nullable(z.int()),
  headers: z.array(z.string()),
  body: z.nullable(z.string()),
  error: z.nullable(z.object({ name: z.string() })),
});
export type OutcomeView = z.infer<typeof OutcomeView>;

export const VERDICTS = ["match", "diverged"] as const;

/**
 * Where the replayed trace came from, as its signature tells: `verified` (signed by a key
 * registered for the app) or `unverified` (unsigned, or no key registered to check it).
 */
export const TraceOriginView = z.union([
  z.object({ status: z.literal("verified"), signer: z.string() }),
  z.object({ status: z.literal("unverified"), reason: z.enum(["unsigned", "no_key"]) }),
]);
export type TraceOriginView = z.infer<typeof TraceOriginView>;

export const ReplayReport = z.object({
  traceId: TRACE_ID,
  app: z.string(),
  route: z.string(),
  method: z.string(),
  recordedAt: z.string(),
  verdict: z.enum(VERDICTS),
  recorded: OutcomeView,
  replayed: OutcomeView,
  divergences: z.array(Divergence),
  unconsumed: z.array(
    z.object({ seq: z.int(), kind: z.string(), op: z.string(), target: z.string() }),
  ),
  /** Recorded events served. */
  served: z.int().check(z.nonnegative()),
  liveNetworkAttempts: z.int().check(z.nonnegative()),
  /** The effects served, in the order the replay made them: `kind op target`. */
  boundaries: z._default(z.array(z.string()), []),
  /** Live read-only calls the replay policy let through. */
  liveAllowed: z._default(z.array(z.object({ op: z.string(), target: z.string() })), []),
  /** The trace's origin, when the replayer checked it. */
  origin: z.optional(TraceOriginView),
  /** The replay policy it ran with: reviewed or not, and why a signed one was ignored. */
  policy: z.optional(PolicyView),
  /**
   * The release of the build that replayed it, when that build knows its own (the recorded one is
   * the summary's): its source map places the replayed call sites.
   */
  replayedRelease: z.optional(z.string()),
});
export type ReplayReport = z.output<typeof ReplayReport>;

export const READINESS = ["ready", "not_ready", "unknown"] as const;
export type Readiness = (typeof READINESS)[number];

export const PreflightItem = z.object({
  code: z.string(),
  reason: z.string(),
  seq: z.optional(z.int()),
});
export type PreflightItem = z.infer<typeof PreflightItem>;

/** What a replay of a trace would need, judged from its clear head (and a code scan). */
export const PreflightReport = z.object({
  traceId: TRACE_ID,
  route: z.string(),
  readiness: z.enum(READINESS),
  /** What stops a faithful replay. */
  blockers: z.array(PreflightItem),
  /** Unsupported APIs in the code but not on this trace's path, and other notes. */
  warnings: z.array(PreflightItem),
  /** Each boundary the trace holds, whether replay can serve it, and what its binding kind says. */
  boundaries: z.array(
    z.object({
      kind: z.string(),
      op: z.string(),
      target: z.string(),
      count: z.int(),
      replayable: z.boolean(),
      note: z.optional(z.string()),
    }),
  ),
  codeScanned: z.boolean(),
});
export type PreflightReport = z.infer<typeof PreflightReport>;
