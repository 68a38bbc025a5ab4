/**
 * Agent tokens: short-lived EdDSA JWTs the dashboard signs for exactly one action on one trace,
 * with the claims of the agent contract (`AgentTokenClaims` in `fluxrun/contract`) and `kid` in
 * the header. The signing key is the secret FLUX_DASHBOARD_SIGNING_KEY (Ed25519 private JWK);
 * its public half is served as a JWKS.
 * @module
 */
import {
  AgentTokenClaims,
  TOKEN_ALGORITHM,
  TOKEN_ISSUER,
  TOKEN_MAX_LIFETIME_S,
} from "fluxrun/contract";
import { calculateJwkThumbprint, importJWK, SignJWT, type JWK } from "jose";
import type { Env } from "../env.js";
import { DashboardError } from "../errors.js";

export interface SigningKey {
  kid: string;
  key: CryptoKey | Uint8Array;
  publicJwk: JWK & { kid: string; alg: typeof TOKEN_ALGORITHM; use: "sig" };
}

const cache = new Map<string, Promise<SigningKey>>();

const KEYGEN_FIX =
  "Generate one with `node dashboard/scripts/dev.mjs --print-key` (or jose's generateKeyPair('EdDSA')) and run `wrangler secret put FLUX_DASHBOARD_SIGNING_KEY -c dashboard/wrangler.toml`";

async function parse(raw: string): Promise<SigningKey> {
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(raw) as Record<string, unknown>;
  } catch (cause) {
    throw new DashboardError("ERR_SIGNING_KEY_INVALID", "FLUX_DASHBOARD_SIGNING_KEY is not JSON", {
      fix: KEYGEN_FIX,
      cause,
    });
  }
  if (jwk.kty === "OKP" && jwk.crv === "X25519") {
    throw new DashboardError(
      "ERR_SIGNING_KEY_INVALID",
      "FLUX_DASHBOARD_SIGNING_KEY holds an X25519 key: that is a trace key and belongs to the agent only, never to the dashboard",
      { fix: `Remove it from the dashboard at once. ${KEYGEN_FIX}` },
    );
  }
  if (
    jwk.kty !== "OKP" ||
    jwk.crv !== "Ed25519" ||
    typeof jwk.x !== "string" ||
    typeof jwk.d !== "string"
  ) {
    throw new DashboardError(
      "ERR_SIGNING_KEY_INVALID",
      "FLUX_DASHBOARD_SIGNING_KEY is not an Ed25519 private JWK (kty OKP, crv Ed25519, with d)",
      { fix: KEYGEN_FIX },
    );
  }
  const publicPart = { kty: "OKP", crv: "Ed25519", x: jwk.x };
  const kid =
    typeof jwk.kid === "string" && jwk.kid ? jwk.kid : await calculateJwkThumbprint(publicPart);
  const key = await importJWK({ ...publicPart, d: jwk.d }, TOKEN_ALGORITHM);
  return { kid, key, publicJwk: { ...publicPart, kid, alg: TOKEN_ALGORITHM, use: "sig" } };
}

/** The signing key, parsed once per isolate. Throws a DashboardError saying how to fix it. */
export function signingKey(env: Env): Promise<SigningKey> {
  const raw = env.FLUX_DASHBOARD_SIGNING_KEY;
  if (!raw) {
    return Promise.reject(
      new DashboardError(
        "ERR_SIGNING_KEY_MISSING",
        "The dashboard has no signing key (secret FLUX_DASHBOARD_SIGNING_KEY), so it cannot issue agent tokens",
        { fix: KEYGEN_FIX },
      ),
    );
  }
  let p = cache.get(raw);
  if (!p) {
    p = parse(raw);
    p.catch(() => cache.delete(raw));
    cache.set(raw, p);
  }
  return p;
}

/** The JWKS the agent trusts (FLUX_DASHBOARD_JWKS). Empty when no key is configured. */
export async function publicJwks(env: Env): Promise<{ keys: SigningKey["publicJwk"][] }> {
  try {
    return { keys: [(await signingKey(env)).publicJwk] };
  } catch {
    return { keys: [] };
  }
}

/** What the dashboard decides in an agent token; it adds iss, iat, exp and jti. */
export type IssuedClaims = Omit<AgentTokenClaims, "iss" | "iat" | "exp" | "jti">;

/**
 * Signs a token for one action. The claims are checked against the contract first, so the
 * dashboard never issues a token the agent would refuse as malformed.
 *
 * @example
 * ```ts
 * const { token } = await issueAgentToken(await signingKey(env), claims, { now: Date.now(), jti });
 * ```
 */
export async function issueAgentToken(
  key: SigningKey,
  claims: IssuedClaims,
  options: { now: number; jti: string; ttlSeconds?: number },
): Promise<{ token: string; iat: number; exp: number; jti: string }> {
  const ttl = Math.min(options.ttlSeconds ?? TOKEN_MAX_LIFETIME_S, TOKEN_MAX_LIFETIME_S);
  const iat = Math.floor(options.now / 1000);
  const full = AgentTokenClaims.parse({
    ...claims,
    iss: TOKEN_ISSUER,
    iat,
    exp: iat + ttl,
    jti: options.jti,
  });
  const token = await new SignJWT(full)
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: "JWT" })
    .sign(key.key);
  return { token, iat: full.iat, exp: full.exp, jti: full.jti };
}
