/**
 * Agent tokens: short-lived EdDSA JWTs the dashboard signs for exactly one action on one trace
 * (issue 3's contract: iss "fluxrun-dashboard", aud = the workspace's agent id, sub, ws, app,
 * trace, act, iat, exp ≤ 60 s, jti; `kid` in the header). The signing key is the secret
 * FLUX_DASHBOARD_SIGNING_KEY (Ed25519 private JWK); its public half is served as a JWKS.
 * @module
 */
import type { AgentTokenClaims as AgentContractClaims } from "../../../agent/src/contract.js";
import { calculateJwkThumbprint, importJWK, SignJWT, type JWK } from "jose";
import type { Env } from "../env.js";
import { DashboardError } from "../errors.js";

export const TOKEN_ISSUER = "fluxrun-dashboard";
export const AGENT_ACTIONS = ["unlock", "replay", "preflight"] as const;
export type AgentAction = (typeof AGENT_ACTIONS)[number];
/** Seconds a token lives. The contract allows at most 60. */
export const TOKEN_TTL_S = 60;

export interface SigningKey {
  kid: string;
  key: CryptoKey | Uint8Array;
  publicJwk: JWK & { kid: string; alg: "EdDSA"; use: "sig" };
}

const cache = new Map<string, Promise<SigningKey>>();

const KEYGEN_FIX =
  "Generate one with `node dashboard/scripts/dev-setup.mjs --print-key` (or jose's generateKeyPair('EdDSA')) and run `wrangler secret put FLUX_DASHBOARD_SIGNING_KEY -c dashboard/wrangler.toml`";

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
  const key = await importJWK({ ...publicPart, d: jwk.d }, "EdDSA");
  return { kid, key, publicJwk: { ...publicPart, kid, alg: "EdDSA", use: "sig" } };
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

/** What the dashboard puts in an agent token, besides iss/iat/exp/jti: the agent's contract. */
export type AgentTokenClaims = Pick<
  AgentContractClaims,
  "aud" | "sub" | "ws" | "app" | "trace" | "act" | "fields"
>;

/**
 * Signs a token for one action.
 *
 * @example
 * ```ts
 * const { token } = await issueAgentToken(await signingKey(env), claims, { now: Date.now(), jti });
 * ```
 */
export async function issueAgentToken(
  key: SigningKey,
  claims: AgentTokenClaims,
  options: { now: number; jti: string; ttlSeconds?: number },
): Promise<{ token: string; iat: number; exp: number; jti: string }> {
  const ttl = Math.min(options.ttlSeconds ?? TOKEN_TTL_S, TOKEN_TTL_S);
  const iat = Math.floor(options.now / 1000);
  const exp = iat + ttl;
  const { aud, sub, ...rest } = claims;
  const token = await new SignJWT({ ...rest })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(aud)
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(options.jti)
    .sign(key.key);
  return { token, iat, exp, jti: options.jti };
}
