/**
 * The agent's side of a replay authorization: signs an envelope with the agent's Ed25519 key
 * (jose). Kept apart from {@link module:authorize}, which the app's bundle carries.
 * @module
 */
import { importJWK, SignJWT, type JWK } from "jose";
import {
  REPLAY_AUTH_AUDIENCE,
  REPLAY_AUTH_MAX_AGE_S,
  REPLAY_AUTH_TYPE,
} from "../contract/_agent-constants.js";
import { hex, sha256 } from "../internal/_sha256.js";
import { newTraceId, now } from "../originals.js";

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
  return new SignJWT({ trace: options.traceId, digest: hex(sha256(body)) })
    .setProtectedHeader({ alg: "EdDSA", typ: REPLAY_AUTH_TYPE })
    .setAudience(REPLAY_AUTH_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + REPLAY_AUTH_MAX_AGE_S)
    .setJti(newTraceId())
    .sign(await importJWK(signingKey, "EdDSA"));
}
