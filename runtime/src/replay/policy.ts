/**
 * The replay policy as `fluxrun/replay` offers it: the file format and its parser (declared in
 * the contract, {@link module:replay-policy}) and the rules a replay applies
 * (`internal/policy-rules`).
 * @module
 */
export { DENY_ALL, parsePolicy, POLICY_FILE, ReplayPolicy } from "../contract/replay-policy.js";
export { allowsLive, withoutIgnoredHeaders, withoutIgnoredJson } from "../internal/policy-rules.js";
