/**
 * Who may put an app into replay mode. Two ways, both impossible from a public request:
 * - the local harness sets a per-run secret var (`__FLUX_REPLAY`) and sends it in a header;
 * - a deployed agent signs each envelope (a JWT, EdDSA, over the envelope's digest, 60 s at
 *   most) with its Ed25519 key; the app holds only the public half (`FLUX_AGENT_KEY`). The
 *   claims are the agent contract's {@link ReplayAuthClaims}. Checked with Web Crypto and a
 *   structural check, so the app's bundle carries neither jose nor zod; the agent signs in
 *   {@link module:_sign}.
 * @module
 */
import {
  AGENT_KEY_VAR,
  REPLAY_AUTH_AUDIENCE,
  REPLAY_AUTH_HEADER,
  REPLAY_AUTH_MAX_AGE_S,
  REPLAY_AUTH_TYPE,
  TOKEN_CLOCK_SKEW_S,
  TOKEN_MAX_LENGTH,
} from "../contract/_agent-constants.js";
import type { ReplayAuthClaims } from "../contract/agent.js";
import { FluxError } from "../errors.js";
import { check, int, obj, oneOf, str, type Shape } from "../trace/_shape.js";
import { fromBase64url } from "../trace/_jwk.js";
import { hex, sha256 } from "../internal/_sha256.js";
import { now } from "../originals.js";
import { REPLAY_HEADER, REPLAY_SECRET_VAR } from "./_wire.js";

export { AGENT_KEY_VAR, REPLAY_AUTH_HEADER };

const utf8 = new TextEncoder();

/** True when a request carries the harness's per-run replay secret (compared in constant time). */
export function hasHarnessSecret(request: Request, env: Record<string, unknown>): boolean {
  const secret = env[REPLAY_SECRET_VAR];
  const header = request.headers.get(REPLAY_HEADER);
  if (typeof secret !== "string" || secret.length < 32 || header === null) return false;
  const a = sha256(utf8.encode(header));
  const b = sha256(utf8.encode(secret));
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** True when the request claims an agent-signed replay (it must then verify, or be refused). */
export function claimsAgentReplay(request: Request, env: Record<string, unknown>): boolean {
  return typeof env[AGENT_KEY_VAR] === "string" && request.headers.has(REPLAY_AUTH_HEADER);
}

const keyCache = new Map<string, Promise<CryptoKey>>();

function agentKey(agentKeyJson: string): Promise<CryptoKey> {
  let key = keyCache.get(agentKeyJson);
  if (!key) {
    let jwk: JsonWebKey;
    try {
      jwk = JSON.parse(agentKeyJson) as JsonWebKey;
    } catch (cause) {
      throw refused("FLUX_AGENT_KEY is not JSON", cause);
    }
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || "d" in jwk)
      throw refused("FLUX_AGENT_KEY is not a public Ed25519 JWK");
    key = crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["verify"]);
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

/** The claims' check (mirrors the agent contract's {@link ReplayAuthClaims} zod schema). */
export const ReplayAuthClaimsShape: Shape<ReplayAuthClaims> = obj({
  aud: oneOf([REPLAY_AUTH_AUDIENCE] as const),
  trace: str(Infinity, 0, /^[0-9a-f]{32}$/),
  digest: str(Infinity, 0, /^[0-9a-f]{64}$/),
  iat: int(),
  exp: int(),
  jti: str(256, 1),
});

function jsonObject(bytes: Uint8Array): Record<string, unknown> {
  const value: unknown = JSON.parse(
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes),
  );
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new TypeError("not a JSON object");
  return value as Record<string, unknown>;
}

/**
 * A compact JWS (EdDSA) checked with Web Crypto: the protected header (alg, no crit) and the
 * signature. Returns the header and payload; anything else is refused as a bad signature.
 */
async function verifiedJws(
  token: string,
  key: CryptoKey,
): Promise<{ header: Record<string, unknown>; payload: Record<string, unknown> }> {
  try {
    const parts = token.split(".");
    if (parts.length !== 3) throw new TypeError("not a compact JWS");
    const [h, p, sig] = parts as [string, string, string];
    const header = jsonObject(fromBase64url(h));
    if (header.alg !== "EdDSA" || header.crit !== undefined || header.b64 !== undefined)
      throw new TypeError("unexpected protected header");
    const ok = await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      fromBase64url(sig) as BufferSource,
      utf8.encode(`${h}.${p}`) as BufferSource,
    );
    if (!ok) throw new TypeError("signature mismatch");
    return { header, payload: jsonObject(fromBase64url(p)) };
  } catch (cause) {
    throw refused("bad signature", cause);
  }
}

const normalTyp = (t: unknown) =>
  typeof t === "string" ? t.toLowerCase().replace(/^application\//, "") : undefined;

/**
 * The registered claims, in the order and with the reasons jose's `jwtVerify` gives them for
 * this module's options: typ, required iat/exp/jti/aud, audience, nbf, exp, then the age of iat
 * (at most {@link REPLAY_AUTH_MAX_AGE_S}, not in the future), all with the clock skew.
 */
function checkRegistered(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  nowMs: number,
): void {
  if (normalTyp(header.typ) !== normalTyp(REPLAY_AUTH_TYPE))
    throw refused("the typ claim is invalid");
  for (const claim of ["iat", "exp", "jti", "aud"])
    if (!(claim in payload)) throw refused(`the ${claim} claim is invalid`);
  const aud = payload.aud;
  if (!(aud === REPLAY_AUTH_AUDIENCE || (Array.isArray(aud) && aud.includes(REPLAY_AUTH_AUDIENCE))))
    throw refused("the aud claim is invalid");
  const t = Math.floor(nowMs / 1000);
  const skew = TOKEN_CLOCK_SKEW_S;
  const { iat, exp, nbf } = payload;
  if (typeof iat !== "number") throw refused("the iat claim is invalid");
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > t + skew))
    throw refused("the nbf claim is invalid");
  if (typeof exp !== "number") throw refused("the exp claim is invalid");
  if (exp <= t - skew) throw refused("expired");
  const age = t - iat;
  if (age - skew > REPLAY_AUTH_MAX_AGE_S) throw refused("expired");
  if (age < 0 - skew) throw refused("the iat claim is invalid");
}

/**
 * Verifies an agent's replay authorization against the envelope bytes (app side), before the
 * envelope is decoded: signature, audience, type, age and expiry (as jose's `jwtVerify` checks them, with Web Crypto), then the claims and the
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
  const { header, payload } = await verifiedJws(token, key);
  checkRegistered(header, payload, (options.now ?? now)());
  const claims = check(ReplayAuthClaimsShape, payload);
  if (!claims.success) throw refused("the claims do not match the contract");
  if (claims.data.digest !== hex(sha256(body)))
    throw refused("the envelope does not match its signature");
  return claims.data.trace;
}
