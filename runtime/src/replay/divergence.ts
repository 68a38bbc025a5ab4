/**
 * Divergences as data, like zod issues: `{ code, seq, kind, op, target, message, expected,
 * actual, closest, count }` (the report contract's {@link Divergence}), and the helpers that
 * describe the calls in them. The CLI, the agent and the dashboard render the same object.
 * Descriptions of calls never hold payloads: bodies and arguments appear as sizes and digests,
 * URLs without query values.
 * @module
 */
export {
  DIVERGENCE_CODES,
  type CallDescription,
  type Divergence,
  type DivergenceCode,
} from "../contract/report.js";

export { closestCandidate, describeCall, digest, redactUrl } from "../internal/describe.js";
