/**
 * Token checks: a dashboard-issued JWT (EdDSA, kid) bound to this agent, one action, one
 * workspace/app/trace, at most 60 s of life, used once.
 * @module
 */
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import type { AgentAction, AgentTokenClaims } from "./contract.js";
import { AgentError } from "./errors.js";

export const MAX_TOKEN_BYTES = 4096;
export const MAX_LIFETIME_S = 60;
export const CLOCK_SKEW_S = 5;
export const ISSUER = "fluxrun-dashboard";

const jwksCache = new Map<string, ReturnType<typeof createLocalJWKSet>>();

/** The configured dashboard JWKS, parsed once per isolate. */
export function issuerKeys(jwksJson: string | undefined): ReturnType<typeof createLocalJWKSet> {
  if (!jwksJson)
    throw new AgentError(
      "ERR_ISSUER_NOT_CONFIGURED",
      401,
      "The agent has no FLUX_DASHBOARD_JWKS: it cannot check tokens",
    );
  let set = jwksCache.get(jwksJson);
  if (!set) {
    let parsed: JSONWebKeySet;
    try {
      parsed = JSON.parse(jwksJson) as JSONWebKeySet;
    } catch {
      throw new AgentError(
        "ERR_ISSUER_NOT_CONFIGURED",
        401,
        "FLUX_DASHBOARD_JWKS is not valid JSON",
      );
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
      401,
      "No token: send Authorization: Bearer <token issued by the dashboard>",
    );
  const m = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header);
  if (header.length > MAX_TOKEN_BYTES + 7)
    throw new AgentError("ERR_TOKEN_TOO_LARGE", 401, `The token is over ${MAX_TOKEN_BYTES} bytes`);
  if (!m)
    throw new AgentError(
      "ERR_TOKEN_MALFORMED",
      401,
      "The Authorization header is not a bearer JWT",
    );
  return m[1]!;
}

function refusal(err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  if (err instanceof errors.JWTExpired)
    return new AgentError(
      "ERR_TOKEN_EXPIRED",
      401,
      "The token has expired: ask the dashboard for a new one",
    );
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud")
      return new AgentError("ERR_TOKEN_AUDIENCE", 403, "The token was issued for another agent");
    if (err.claim === "iss")
      return new AgentError("ERR_TOKEN_ISSUER", 401, "The token was not issued by the dashboard");
    if (err.claim === "nbf" || err.claim === "iat")
      return new AgentError("ERR_TOKEN_EXPIRED", 401, "The token is not valid yet (clock skew?)");
    return new AgentError("ERR_TOKEN_MALFORMED", 401, `The token's ${err.claim} claim is invalid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new AgentError(
      "ERR_TOKEN_ALGORITHM",
      401,
      "The token's algorithm is not allowed (EdDSA only)",
    );
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return new AgentError(
      "ERR_TOKEN_SIGNATURE",
      401,
      "The token's signature does not verify against the dashboard's keys",
    );
  }
  return new AgentError("ERR_TOKEN_MALFORMED", 401, "The token is not a well-formed JWT");
}

/**
 * Verifies signature and standard claims. Returns the claims; does not yet check action or trace
 * (the token is consumed first, so a verified token is spent whatever happens next).
 */
export async function verifyToken(
  token: string,
  options: { jwks: string | undefined; audience: string; now?: () => number },
): Promise<AgentTokenClaims> {
  let payload: JWTPayload;
  try {
    const result = await jwtVerify(token, issuerKeys(options.jwks), {
      algorithms: ["EdDSA"],
      issuer: ISSUER,
      audience: options.audience,
      clockTolerance: CLOCK_SKEW_S,
      requiredClaims: ["exp", "iat", "jti", "sub", "ws", "app", "trace", "act"],
      ...(options.now ? { currentDate: new Date(options.now()) } : {}),
    });
    payload = result.payload;
    if (typeof result.protectedHeader.kid !== "string")
      throw new AgentError("ERR_TOKEN_MALFORMED", 401, "The token has no kid");
  } catch (err) {
    throw refusal(err);
  }
  const claims = payload as unknown as AgentTokenClaims;
  if (claims.exp - claims.iat > MAX_LIFETIME_S) {
    throw new AgentError(
      "ERR_TOKEN_LIFETIME",
      401,
      `The token lives longer than ${MAX_LIFETIME_S} s`,
    );
  }
  for (const k of ["sub", "ws", "app", "trace", "act", "jti"] as const) {
    if (typeof claims[k] !== "string" || claims[k].length === 0 || claims[k].length > 256) {
      throw new AgentError("ERR_TOKEN_MALFORMED", 401, `The token's ${k} claim is invalid`);
    }
  }
  return claims;
}

/** The action and trace the token was issued for must be the ones asked for. */
export function checkBinding(claims: AgentTokenClaims, act: AgentAction, trace: string): void {
  if (claims.act !== act)
    throw new AgentError("ERR_TOKEN_ACTION", 403, `The token allows ${claims.act}, not ${act}`);
  if (claims.trace !== trace)
    throw new AgentError("ERR_TOKEN_TRACE", 403, "The token was issued for another trace");
}

/** SHA-256 of a token id, for the audit log (never the token itself). */
export async function jtiHash(jti: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(jti)));
  return [...d.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
