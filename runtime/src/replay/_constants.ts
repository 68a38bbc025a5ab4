/**
 * The replay envelope's marks: the request header and env var of a replay, and the decode limits
 * of an envelope and its result. Shared by the zod contract ({@link module:envelope}) and the
 * worker's schema-free check (`_wire.ts`).
 * @module
 */
import { HEAD_LIMITS, PAYLOAD_LIMITS, type DecodeLimits } from "../trace/_decode.js";

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
