/**
 * Who may put an app into replay mode. Two ways, both impossible from a public request:
 * - the local harness sets a per-run secret var (`__FLUX_REPLAY`) and sends it in a header;
 * - a deployed agent signs each envelope (JWS EdDSA over the envelope's digest, 60 s lifetime)
 *   with its Ed25519 key; the app holds only the public half (`FLUX_AGENT_KEY`).
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { CompactSign, compactVerify, importJWK, type JWK } from "jose";
import { FluxError } from "../errors.js";
import { newTraceId, now } from "../internal/originals.js";
import { REPLAY_HEADER, REPLAY_SECRET_VAR } from "./envelope.js";

/** Header carrying an agent's signed replay authorization. */
export const REPLAY_AUTH_HEADER = "x-fluxrun-replay-auth";
/** Env var holding the agent's public Ed25519 JWK (JSON) on the app. */
export const AGENT_KEY_VAR = "FLUX_AGENT_KEY";
const AUDIENCE = "fluxrun-replay";
const MAX_LIFETIME_S = 60;
const SKEW_S = 5;

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** True when a request carries the harness's per-run replay secret. */
export function hasHarnessSecret(request: Request, env: Record<string, unknown>): boolean {
  const secret = env[REPLAY_SECRET_VAR];
  const header = request.headers.get(REPLAY_HEADER);
  return (
    typeof secret === "string" &&
    secret.length >= 32 &&
    header !== null &&
    timingSafeEqual(header, secret)
  );
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
  const payload = {
    aud: AUDIENCE,
    trace: options.traceId,
    digest: bytesToHex(sha256(body)),
    iat,
    exp: iat + MAX_LIFETIME_S,
    jti: newTraceId(),
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "EdDSA", typ: "fluxrun-replay+jws" })
    .sign(await importJWK(signingKey, "EdDSA"));
}

/**
 * Verifies an agent's replay authorization against the envelope bytes (app side), before the
 * envelope is decoded. Returns the trace id it was signed for. Throws FluxError
 * ERR_REPLAY_ENVELOPE with the reason; never returns for a bad token.
 */
export async function verifyReplay(
  token: string,
  body: Uint8Array,
  agentKey: string,
  options: { now?: () => number } = {},
): Promise<string> {
  const fail = (why: string, cause?: unknown): never => {
    throw new FluxError(
      "ERR_REPLAY_ENVELOPE",
      `Replay authorization refused: ${why}`,
      cause ? { cause } : undefined,
    );
  };
  if (token.length > 4096) fail("the token is too large");
  let key = keyCache.get(agentKey);
  if (!key) {
    let jwk: JWK;
    try {
      jwk = JSON.parse(agentKey) as JWK;
    } catch (cause) {
      return fail("FLUX_AGENT_KEY is not JSON", cause);
    }
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || "d" in jwk)
      fail("FLUX_AGENT_KEY is not a public Ed25519 JWK");
    key = importJWK(jwk, "EdDSA");
    keyCache.set(agentKey, key);
  }
  let payload: Record<string, unknown>;
  try {
    const verified = await compactVerify(token, await key, { algorithms: ["EdDSA"] });
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as Record<string, unknown>;
  } catch (cause) {
    return fail("bad signature", cause);
  }
  const t = Math.floor((options.now ?? now)() / 1000);
  if (payload.aud !== AUDIENCE) fail("wrong audience");
  if (typeof payload.exp !== "number" || typeof payload.iat !== "number") fail("no lifetime");
  if ((payload.exp as number) - (payload.iat as number) > MAX_LIFETIME_S)
    fail("lifetime over 60 s");
  if ((payload.exp as number) + SKEW_S < t) fail("expired");
  if ((payload.iat as number) - SKEW_S > t) fail("issued in the future");
  if (typeof payload.trace !== "string") fail("no trace id");
  if (payload.digest !== bytesToHex(sha256(body)))
    fail("the envelope does not match its signature");
  return payload.trace as string;
}
