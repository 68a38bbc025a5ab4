/**
 * The reviewed replay policy on the agent: the signed policy the browser passes with a replay
 * (the dashboard signed it when it issued the replay token) is verified against the dashboard's
 * keys (FLUX_DASHBOARD_JWKS), its type, its app and workspace (the token's) and its digest. A
 * policy that does not verify is ignored: the replay runs deny-all and the report and the audit
 * say why. Nothing here ever widens what a replay may do beyond what an admin approved.
 * @module
 */
import {
  POLICY_MAX_AGE_S,
  POLICY_MAX_LENGTH,
  POLICY_TYPE,
  PolicyClaims,
  policyDigest,
  TOKEN_ALGORITHM,
  TOKEN_CLOCK_SKEW_S,
  type AgentTokenClaims,
  type PolicyDiagnosticCode,
  type PolicyView,
  type ReplayPolicy,
} from "fluxrun/contract";
import { errors, jwtVerify } from "jose";
import { issuerKeys } from "./auth.js";
import { AgentError } from "./errors.js";

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function refusal(err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === "typ")
    return new AgentError("ERR_POLICY_TYPE", `The signed policy is not of type ${POLICY_TYPE}`);
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSEAlgNotAllowed
  )
    return new AgentError(
      "ERR_POLICY_SIGNATURE",
      "The policy's signature does not verify against the dashboard's keys",
    );
  return new AgentError("ERR_POLICY_MALFORMED", "The signed policy is not a well-formed JWS");
}

/**
 * Verifies a signed policy for the trace's app and the token's workspace. Throws an AgentError
 * with a policy code when it does not verify.
 *
 * @example
 * ```ts
 * const { policy, claims } = await verifyPolicy(body.policy, { jwks: env.FLUX_DASHBOARD_JWKS, app: token.app, ws: token.ws });
 * ```
 */
export async function verifyPolicy(
  jws: string,
  options: { jwks: string | undefined; app: string; ws: string; now?: () => number },
): Promise<{ policy: ReplayPolicy; claims: PolicyClaims }> {
  if (jws.length > POLICY_MAX_LENGTH || !COMPACT_JWS.test(jws))
    throw new AgentError("ERR_POLICY_MALFORMED", "The signed policy is not a compact JWS");
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(jws, issuerKeys(options.jwks), {
      algorithms: [TOKEN_ALGORITHM],
      typ: POLICY_TYPE,
    }));
  } catch (err) {
    throw refusal(err);
  }
  const parsed = PolicyClaims.safeParse(payload);
  if (!parsed.success) {
    const claim = parsed.error.issues[0]?.path[0];
    throw new AgentError(
      "ERR_POLICY_SCHEMA",
      `The signed policy's ${typeof claim === "string" ? claim : "claims"} claim is invalid`,
    );
  }
  const claims = parsed.data;
  if (claims.ws !== options.ws)
    throw new AgentError("ERR_POLICY_WORKSPACE", "The policy was signed for another workspace");
  if (claims.app !== options.app)
    throw new AgentError("ERR_POLICY_APP", "The policy was signed for another app");
  if (policyDigest(claims.policy) !== claims.digest)
    throw new AgentError("ERR_POLICY_DIGEST", "The policy's digest does not match its content");
  const now = Math.floor((options.now?.() ?? Date.now()) / 1000);
  if (
    claims.iat > now + TOKEN_CLOCK_SKEW_S ||
    now - claims.iat > POLICY_MAX_AGE_S + TOKEN_CLOCK_SKEW_S
  )
    throw new AgentError(
      "ERR_POLICY_EXPIRED",
      `The signed policy is not from the last ${POLICY_MAX_AGE_S} s (a stale copy, or clock skew)`,
    );
  return { policy: claims.policy, claims };
}

/** The policy a replay runs with, and its line in the report. */
export interface ReplayPolicyChoice {
  /** Undefined: deny-all. */
  policy: ReplayPolicy | undefined;
  view: PolicyView;
  /** The code the policy was ignored with, for the audit. */
  ignored: PolicyDiagnosticCode | null;
}

/**
 * The policy for a replay the token authorized: the verified signed one, or deny-all (none sent,
 * or ignored with a diagnostic).
 *
 * @example
 * ```ts
 * const { policy, view, ignored } = await choosePolicy(body.policy, { claims, jwks: env.FLUX_DASHBOARD_JWKS });
 * ```
 */
export async function choosePolicy(
  jws: string | undefined,
  options: { claims: AgentTokenClaims; jwks: string | undefined },
): Promise<ReplayPolicyChoice> {
  const { claims, jwks } = options;
  if (jws === undefined)
    return { policy: undefined, view: { status: "none", source: "default" }, ignored: null };
  try {
    const { policy, claims: c } = await verifyPolicy(jws, { jwks, app: claims.app, ws: claims.ws });
    return {
      policy,
      view: {
        status: "reviewed",
        source: "dashboard",
        app: c.app,
        ws: c.ws,
        version: c.version,
        digest: c.digest,
      },
      ignored: null,
    };
  } catch (err) {
    const e = err instanceof AgentError ? err : refusal(err);
    const code = (
      e.code.startsWith("ERR_POLICY_") ? e.code : "ERR_POLICY_MALFORMED"
    ) as PolicyDiagnosticCode;
    return {
      policy: undefined,
      view: {
        status: "rejected",
        source: "default",
        diagnostic: { code, message: `${e.message}: ignored, the replay allows no live call` },
      },
      ignored: code,
    };
  }
}
