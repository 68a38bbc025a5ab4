/**
 * Token checks: a dashboard-issued JWT (EdDSA, kid) bound to this agent, one action, one
 * workspace/app/trace, at most 60 s of life, used once. The claims and limits are the agent
 * contract's; jose checks signature, issuer, audience and time.
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import {
  AgentTokenClaims,
  POLICY_TYPE,
  APPROVAL_TYPE,
  TOKEN_ALGORITHM,
  TOKEN_CLOCK_SKEW_S,
  TOKEN_ISSUER,
  TOKEN_MAX_LENGTH,
  TOKEN_MAX_LIFETIME_S,
  type AgentAction,
} from "fluxrun/contract";
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
} from "jose";
import { AgentError } from "./errors.js";

const jwksCache = new Map<string, ReturnType<typeof createLocalJWKSet>>();

/** The configured dashboard JWKS, parsed once per isolate. */
export function issuerKeys(jwksJson: string | undefined): ReturnType<typeof createLocalJWKSet> {
  if (!jwksJson)
    throw new AgentError(
      "ERR_ISSUER_NOT_CONFIGURED",
      "The agent has no FLUX_DASHBOARD_JWKS: it cannot check tokens",
    );
  let set = jwksCache.get(jwksJson);
  if (!set) {
    let parsed: JSONWebKeySet;
    try {
      parsed = JSON.parse(jwksJson) as JSONWebKeySet;
    } catch {
      throw new AgentError("ERR_ISSUER_NOT_CONFIGURED", "FLUX_DASHBOARD_JWKS is not valid JSON");
    }
    set = createLocalJWKSet(parsed);
    jwksCache.set(jwksJson, set);
  }
  return set;
}

/** Reads the bearer token, refusing a missing or oversized one before any parsing. */
export function bearer(header: string | undefined): string {
  if (!header)
    throw new AgentError(
      "ERR_TOKEN_MISSING",
      "No token: send Authorization: Bearer <token issued by the dashboard>",
    );
  if (header.length > TOKEN_MAX_LENGTH + "Bearer ".length)
    throw new AgentError("ERR_TOKEN_TOO_LARGE", `The token is over ${TOKEN_MAX_LENGTH} bytes`);
  const m = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header);
  if (!m)
    throw new AgentError("ERR_TOKEN_MALFORMED", "The Authorization header is not a bearer JWT");
  return m[1]!;
}

function refusal(err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  if (err instanceof errors.JWTExpired)
    return new AgentError(
      "ERR_TOKEN_EXPIRED",
      "The token has expired: ask the dashboard for a new one",
    );
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud")
      return new AgentError("ERR_TOKEN_AUDIENCE", "The token was issued for another agent");
    if (err.claim === "iss")
      return new AgentError("ERR_TOKEN_ISSUER", "The token was not issued by the dashboard");
    if (err.claim === "nbf" || err.claim === "iat")
      return new AgentError("ERR_TOKEN_EXPIRED", "The token is not valid yet (clock skew?)");
    return new AgentError("ERR_TOKEN_MALFORMED", `The token's ${err.claim} claim is invalid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new AgentError(
      "ERR_TOKEN_ALGORITHM",
      `The token's algorithm is not allowed (${TOKEN_ALGORITHM} only)`,
    );
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return new AgentError(
      "ERR_TOKEN_SIGNATURE",
      "The token's signature does not verify against the dashboard's keys",
    );
  }
  return new AgentError("ERR_TOKEN_MALFORMED", "The token is not a well-formed JWT");
}

/** The JWS header's `typ`, when the header decodes. */
function typOf(token: string): unknown {
  try {
    return decodeProtectedHeader(token).typ;
  } catch {
    return undefined;
  }
}

/**
 * Verifies signature and claims. Returns the claims; does not yet check action or trace (the
 * token is consumed first, so a verified token is spent whatever happens next).
 *
 * @example
 * ```ts
 * const claims = await verifyToken(bearer(header), { jwks: env.FLUX_DASHBOARD_JWKS, audience: env.FLUX_AGENT_ID });
 * ```
 */
export async function verifyToken(
  token: string,
  options: { jwks: string | undefined; audience: string; now?: () => number },
): Promise<AgentTokenClaims> {
  // Approvals and policies are signed with the same keys: only a plain JWT is a token.
  const typ = typOf(token);
  if (typ !== undefined && typ !== "JWT")
    throw new AgentError(
      "ERR_TOKEN_TYPE",
      typ === POLICY_TYPE
        ? "A signed replay policy is not an agent token"
        : typ === APPROVAL_TYPE
          ? "An approval statement is not an agent token"
          : "The token's typ is not JWT: it is not an agent token",
    );
  let payload: unknown;
  try {
    const result = await jwtVerify(token, issuerKeys(options.jwks), {
      algorithms: [TOKEN_ALGORITHM],
      issuer: TOKEN_ISSUER,
      audience: options.audience,
      clockTolerance: TOKEN_CLOCK_SKEW_S,
      requiredClaims: ["exp", "iat", "jti", "sub"],
      ...(options.now ? { currentDate: new Date(options.now()) } : {}),
    });
    if (typeof result.protectedHeader.kid !== "string")
      throw new AgentError("ERR_TOKEN_MALFORMED", "The token has no kid");
    payload = result.payload;
  } catch (err) {
    throw refusal(err);
  }
  const parsed = AgentTokenClaims.safeParse(payload);
  if (!parsed.success) {
    const claim = parsed.error.issues[0]?.path[0];
    throw new AgentError(
      "ERR_TOKEN_MALFORMED",
      `The token's ${typeof claim === "string" ? claim : "claims"} claim is invalid`,
    );
  }
  const claims = parsed.data;
  if (claims.exp - claims.iat > TOKEN_MAX_LIFETIME_S) {
    throw new AgentError(
      "ERR_TOKEN_LIFETIME",
      `The token lives longer than ${TOKEN_MAX_LIFETIME_S} s`,
    );
  }
  return claims;
}

/** The action and trace the token was issued for must be the ones asked for. */
export function checkBinding(claims: AgentTokenClaims, act: AgentAction, trace: string): void {
  if (claims.act !== act)
    throw new AgentError("ERR_TOKEN_ACTION", `The token allows ${claims.act}, not ${act}`);
  if (claims.trace !== trace)
    throw new AgentError("ERR_TOKEN_TRACE", "The token was issued for another trace");
}

/** The entries of FLUX_WORKSPACES: `ws` or `ws/app`, comma-separated. */
export function servedWorkspaces(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((w) => w.trim())
    .filter(Boolean);
}

/**
 * The token's workspace (and app) must be one this agent serves: the agent's own configuration,
 * not the dashboard's word, decides whose traces it opens.
 *
 * @example
 * ```ts
 * checkWorkspace(claims, env.FLUX_WORKSPACES); // "acme" serves every app of acme; "acme/shop-api" one
 * ```
 */
export function checkWorkspace(claims: AgentTokenClaims, served: string | undefined): void {
  const entries = servedWorkspaces(served);
  if (!entries.length)
    throw new AgentError(
      "ERR_WORKSPACES_NOT_CONFIGURED",
      "The agent has no FLUX_WORKSPACES: set the dashboard workspace(s) whose traces it serves",
    );
  if (!entries.includes(claims.ws) && !entries.includes(`${claims.ws}/${claims.app}`))
    throw new AgentError(
      "ERR_TOKEN_WORKSPACE",
      "The token is for a workspace or app this agent does not serve (FLUX_WORKSPACES)",
    );
}

/** A short SHA-256 of a token id, for the audit log (never the token itself). */
export function jtiHash(jti: string): string {
  return bytesToHex(sha256(utf8ToBytes(jti)).subarray(0, 8));
}
