/**
 * Signed policies: an app's approved replay policy as a compact JWS of type `fluxrun-policy+jwt`
 * (claims `PolicyClaims` of `fluxrun/contract`), signed with the agent-token key so the agent's
 * FLUX_DASHBOARD_JWKS verifies it. Its type, and its claims (no `iss`, `aud`, `exp` or `jti`),
 * keep it from passing as an agent token, and a token from passing as a policy.
 * @module
 */
import {
  POLICY_TYPE,
  PolicyClaims,
  policyDigest,
  TOKEN_ALGORITHM,
  type ReplayPolicy,
} from "fluxrun/contract";
import { SignJWT } from "jose";
import type { SigningKey } from "./issuer.js";

/**
 * Signs one approved version of an app's policy.
 *
 * @example
 * ```ts
 * const jws = await signPolicy(await signingKey(env), { app, ws, version, policy }, { now: Date.now() });
 * ```
 */
export async function signPolicy(
  key: SigningKey,
  approved: { app: string; ws: string; version: number; policy: ReplayPolicy },
  options: { now: number },
): Promise<{ jws: string; claims: PolicyClaims }> {
  const claims = PolicyClaims.parse({
    ...approved,
    digest: policyDigest(approved.policy),
    iat: Math.floor(options.now / 1000),
  });
  const jws = await new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: POLICY_TYPE })
    .sign(key.key);
  return { jws, claims };
}
