/**
 * Who may put an app into replay mode. Two ways, both impossible from a public request:
 * - the local harness sets a per-run secret var (`__FLUX_REPLAY`) and sends it in a header;
 * - a deployed agent signs each envelope (a JWT, EdDSA, over the envelope's digest, 60 s at
 *   most) with its Ed25519 key; the app holds only the public half (`FLUX_AGENT_KEY`). The
 *   claims are the agent contract's {@link ReplayAuthClaims}.
 * @module
 */
import { equalBytes } from "@noble/ciphers/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { errors, importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import {
  AGENT_KEY_VAR,
  REPLAY_AUTH_AUDIENCE,
  REPLAY_AUTH_HEADER,
  REPLAY_AUTH_MAX_AGE_S,
  REPLAY_AUTH_TYPE,
  ReplayAuthClaims,
  TOKEN_CLOCK_SKEW_S,
  TOKEN_MAX_LENGTH,
} from "../contract/agent.js";
import { FluxError } from "../errors.js";
import { newTraceId, now } from "../internal/originals.js";
import { REPLAY_HEADER, REPLAY_SECRET_VAR } from "./envelope.js";

export { AGENT_KEY_VAR, REPLAY_AUTH_HEADER };

/** True when a request carries the harness's per-run replay secret (compared in constant time). */
export function hasHarnessSecret(request: Request, env: Record<string, unknown>): boolean {
  const secret = env[REPLAY_SECRET_VAR];
  const header = request.headers.get(REPLAY_HEADER);
  if (typeof secret !== "string" || secret.length < 32 || header === null) return false;
  return equalBytes(sha256(utf8ToBytes(header)), sha256(utf8ToBytes(secret)));
}

/** True when the request claims an agent-signed replay (it must then verify, or be refused). */
export function claimsAgentReplay(request: Request, env: Record<string, unknown>): boolean {
  return typeof env[AGENT_KEY_VAR] === "string" && request.headers.has(REPLAY_AUTH_HEADER);
}

const keyCache = new Map<string, Promise<CryptoKey | Uint8Array>>();

/**
 * Signs a replay envelope for an app (agent side).
 *
 * @example
 * ```ts
 * const auth = await signReplay(body, signingJwk, { traceId });
 * await env.APP.fetch("https://replay/", { method: "POST", body, headers: { [REPLAY_AUTH_HEADER]: auth } });
 * ```
 */
export async function signReplay(
  body: Uint8Array,
  signingKey: JWK,
  options: { traceId: string; now?: () => number },
): Promise<string> {
  const iat = Math.floor((options.now ?? now)() / 1000);
  return new SignJWT({ trace: options.traceId, digest: bytesToHex(sha256(body)) })
    .setProtectedHeader({ alg: "EdDSA", typ: REPLAY_AUTH_TYPE })
    .setAudience(REPLAY_AUTH_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + REPLAY_AUTH_MAX_AGE_S)
    .setJti(newTraceId())
    .sign(await importJWK(signingKey, "EdDSA"));
}

function agentKey(agentKeyJson: string): Promise<CryptoKey | Uint8Array> {
  let key = keyCache.get(agentKeyJson);
  if (!key) {
    let jwk: JWK;
    try {
      jwk = JSON.parse(agentKeyJson) as JWK;
    } catch (cause) {
      throw refused("FLUX_AGENT_KEY is not JSON", cause);
    }
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || "d" in jwk)
      throw refused("FLUX_AGENT_KEY is not a public Ed25519 JWK");
    key = importJWK(jwk, "EdDSA");
    keyCache.set(agentKeyJson, key);
  }
  return key;
}

function refused(why: string, cause?: unknown): FluxError {
  return new FluxError(
    "ERR_REPLAY_ENVELOPE",
    `Replay authorization refused: ${why}`,
    cause ? { cause } : undefined,
  );
}

/**
 * Verifies an agent's replay authorization against the envelope bytes (app side), before the
 * envelope is decoded: signature, audience, type, age and expiry (jose), then the claims and the
 * digest. Returns the trace id it was signed for; throws FluxError ERR_REPLAY_ENVELOPE with the
 * reason for anything else.
 *
 * @example
 * ```ts
 * const traceId = await verifyReplay(request.headers.get(REPLAY_AUTH_HEADER)!, body, env.FLUX_AGENT_KEY);
 * ```
 */
export async function verifyReplay(
  token: string,
  body: Uint8Array,
  agentKeyJson: string,
  options: { now?: () => number } = {},
): Promise<string> {
  if (token.length > TOKEN_MAX_LENGTH) throw refused("the token is too large");
  const key = await agentKey(agentKeyJson);
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      typ: REPLAY_AUTH_TYPE,
      audience: REPLAY_AUTH_AUDIENCE,
      maxTokenAge: REPLAY_AUTH_MAX_AGE_S,
      clockTolerance: TOKEN_CLOCK_SKEW_S,
      requiredClaims: ["iat", "exp", "jti"],
      currentDate: new Date((options.now ?? now)()),
    }));
  } catch (cause) {
    if (cause instanceof errors.JWTExpired) throw refused("expired", cause);
    if (cause instanceof errors.JWTClaimValidationFailed)
      throw refused(`the ${cause.claim} claim is invalid`, cause);
    throw refused("bad signature", cause);
  }
  const claims = ReplayAuthClaims.safeParse(payload);
  if (!claims.success) throw refused("the claims do not match the contract");
  if (claims.data.digest !== bytesToHex(sha256(body)))
    throw refused("the envelope does not match its signature");
  return claims.data.trace;
}
