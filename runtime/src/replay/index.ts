/**
 * `fluxrun/replay`: drive replays from any runtime (the agent worker, the Node harness):
 * envelopes, agent signatures, reports and divergence data.
 * @module
 */
export {
  replayThrough,
  encodeEnvelope,
  type ReplayTarget,
  type ReplayCredential,
} from "./client.js";
export { verifyReplay, REPLAY_AUTH_HEADER, AGENT_KEY_VAR } from "./authorize.js";
export { signReplay } from "./_sign.js";
export {
  buildReport,
  formatReport,
  recordedOutcome,
  type ReplayReport,
  type OutcomeView,
} from "./report.js";
export { ReplayEnvelope, ReplayResult, REPLAY_HEADER, REPLAY_SECRET_VAR } from "./envelope.js";
export {
  preflight,
  formatPreflight,
  UNSUPPORTED_APIS,
  READINESS,
  type PreflightReport,
  type PreflightItem,
  type CodeFinding,
  type Readiness,
  type UnsupportedApi,
} from "./preflight.js";
export { ReplayPolicy, parsePolicy, allowsLive, DENY_ALL, POLICY_FILE } from "./policy.js";
export {
  describeCall,
  digest,
  redactUrl,
  DIVERGENCE_CODES,
  type Divergence,
  type DivergenceCode,
  type CallDescription,
} from "./divergence.js";
