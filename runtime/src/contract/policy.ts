/**
 * The reviewed replay policy contract: the policy a dashboard admin approved for one app, signed
 * by the dashboard as a compact JWS of its own type (`fluxrun-policy+jwt`) with the same key as
 * agent tokens (so the agent's FLUX_DASHBOARD_JWKS verifies it) but never interchangeable with
 * one; the replay request that carries it to the agent; the dashboard's answer to
 * `fluxrun policy pull`; the policy line of a replay report; and the diagnostic codes of a policy
 * that does not verify (the replay then runs deny-all).
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import * as z from "zod/mini";
import { ReplayPolicy } from "./replay-policy.js";
import { TRACE_ID } from "./storage.js";

export { DENY_ALL, parsePolicy, POLICY_FILE, ReplayPolicy } from "./replay-policy.js";

/** JWS header `typ` of a signed policy; agent tokens are `JWT`, so neither passes for the other. */
export const POLICY_TYPE = "fluxrun-policy+jwt";
/**
 * Seconds a signed policy is accepted after its `iat`: the dashboard signs a fresh one with each
 * replay token, so a superseded version captured earlier cannot be passed with a later token.
 */
export const POLICY_MAX_AGE_S = 60;
/** Characters of a signed policy at most (checked before any parsing). */
export const POLICY_MAX_LENGTH = 8192;
/** Where `fluxrun policy pull` writes the signed form, beside the worker's config. */
export const POLICY_SIGNED_FILE = ".fluxrun/policy.jws";
/** `GET` path of an app's approved, signed policy (`fluxrun policy pull`). */
export const policyPath = (app: string): string => `/api/apps/${encodeURIComponent(app)}/policy`;

const bounded = z.string().check(z.minLength(1), z.maxLength(256));
const Digest = z.string().check(z.regex(/^[0-9a-f]{64}$/));

/** Claims of a signed policy. */
export const PolicyClaims = z.object({
  app: bounded,
  /** Workspace. */
  ws: bounded,
  /** The approved version (1, 2, ...) in the dashboard's history of this app. */
  version: z.int().check(z.positive()),
  policy: ReplayPolicy,
  /** {@link policyDigest} of `policy`. */
  digest: Digest,
  iat: z.int(),
});
export type PolicyClaims = z.infer<typeof PolicyClaims>;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Hex SHA-256 of a policy's canonical JSON (keys sorted, defaults filled in): equal for two
 * policies exactly when they mean the same, whatever their formatting.
 *
 * @example
 * ```ts
 * policyDigest(parsePolicy(await readFile("fluxrun.policy.json", "utf8"))); // "3f1c…"
 * ```
 */
export function policyDigest(policy: ReplayPolicy): string {
  return bytesToHex(sha256(utf8ToBytes(canonical(policy))));
}

/** `POST /v1/replay` body: the trace, and the app's signed approved policy when it has one. */
export const ReplayRequest = z.object({
  trace: z.string().check(z.regex(TRACE_ID)),
  policy: z.optional(z.string().check(z.minLength(1), z.maxLength(POLICY_MAX_LENGTH))),
});
export type ReplayRequest = z.infer<typeof ReplayRequest>;

/** `GET /api/apps/:app/policy`: the approved version, plain and signed. */
export const SignedPolicy = z.object({
  app: z.string(),
  ws: z.string(),
  version: z.int(),
  digest: Digest,
  policy: ReplayPolicy,
  /** The compact JWS ({@link PolicyClaims}, typ {@link POLICY_TYPE}). */
  jws: z.string(),
  approvedBy: z.string(),
  approvedAt: z.string(),
});
export type SignedPolicy = z.infer<typeof SignedPolicy>;

/**
 * Why a signed policy was ignored (the replay then allows no live effect). The agent answers none
 * of them as a refusal: they appear in the report's `policy.diagnostic` and the agent's audit.
 */
export const POLICY_DIAGNOSTICS = {
  /** Not a compact JWS, or over {@link POLICY_MAX_LENGTH}. */
  ERR_POLICY_MALFORMED: 422,
  /** The JWS is not of type {@link POLICY_TYPE} (an agent token, or another JWT). */
  ERR_POLICY_TYPE: 422,
  /** Tampered, or signed by a key the agent does not trust. */
  ERR_POLICY_SIGNATURE: 422,
  /** The claims do not match the contract (an invalid policy among them). */
  ERR_POLICY_SCHEMA: 422,
  /** Signed for another app than the replayed trace's. */
  ERR_POLICY_APP: 422,
  /** Signed for another workspace than the token's. */
  ERR_POLICY_WORKSPACE: 422,
  /** The digest claim is not the policy's digest. */
  ERR_POLICY_DIGEST: 422,
  /** Signed more than {@link POLICY_MAX_AGE_S} ago (or in the future): a stale copy. */
  ERR_POLICY_EXPIRED: 422,
} as const;
export type PolicyDiagnosticCode = keyof typeof POLICY_DIAGNOSTICS;

/**
 * Why a local replay's policy is unreviewed: the file differs from the last pulled approved
 * version, or none was pulled (or the pulled one is unreadable).
 */
export const LOCAL_POLICY_CODES = ["ERR_POLICY_EDITED", "ERR_POLICY_NOT_PULLED"] as const;

/** The policy a replay ran with, as its report shows it. */
export const PolicyView = z.object({
  /**
   * `reviewed`: an approved version (signed by the dashboard, or pulled and unchanged);
   * `unreviewed`: a local file no admin approved as is; `none`: no policy, deny-all;
   * `rejected`: a signed policy that did not verify, ignored (deny-all).
   */
  status: z.enum(["reviewed", "unreviewed", "none", "rejected"]),
  /** Where it came from: the dashboard's signature, a local file, or the deny-all default. */
  source: z.enum(["dashboard", "file", "default"]),
  app: z.optional(z.string()),
  ws: z.optional(z.string()),
  version: z.optional(z.int()),
  digest: z.optional(z.string()),
  /** Why it is not reviewed, or why the signed one was ignored. Never the policy or the JWS. */
  diagnostic: z.optional(z.object({ code: z.string(), message: z.string() })),
});
export type PolicyView = z.infer<typeof PolicyView>;
