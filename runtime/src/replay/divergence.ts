/**
 * Divergences as data, like zod issues: `{ code, seq, kind, op, target, message, expected,
 * actual, closest }`. The CLI, the agent and the dashboard render the same object. Descriptions
 * of calls never hold payloads: bodies and arguments appear as sizes and digests, URLs without
 * query values.
 * @module
 */
import type { EventKind } from "../trace/schema.js";

export {
  closestCandidate,
  describeCall,
  digest,
  redactUrl,
  type CallDescription,
} from "../internal/describe.js";

export const DIVERGENCE_CODES = [
  "extra_call",
  "missing_call",
  "reordered",
  "changed_request",
  "changed_outcome",
  "unsupported",
  "truncated",
  "live_network",
] as const;
export type DivergenceCode = (typeof DIVERGENCE_CODES)[number];

export interface Divergence {
  code: DivergenceCode;
  /** The recorded event concerned, or null for a call the recording lacks. */
  seq: number | null;
  kind: EventKind | "network";
  op: string;
  target: string;
  message: string;
  /** Request fields that differ (method, url, headers, body, args...). */
  fields?: string[];
  expected?: unknown;
  actual?: unknown;
  /** For an extra call: the closest recorded call not yet served. */
  closest?: { seq: number; op: string; target: string } | null;
  /** How many times the replay made this call: more than 1 means it was retried. */
  count?: number;
  /** The differing values, by path (digests unless the report shows values). */
  diff?: { path: string; expected: unknown; actual: unknown }[];
  /** Where the recorded call and the replayed one were made: `[function, file, line, column]`. */
  site?: {
    recorded?: [string, string, number, number][];
    replayed?: [string, string, number, number][];
  };
}
