/**
 * X25519 keys as plain JWK JSON (what jose's exportJWK writes): parsing, key ids, generation.
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { keyId, parsePrivateJwk, parsePublicJwk, type PrivateJwk, type PublicJwk } from "./_jwk.js";

export { keyId, parsePrivateJwk, parsePublicJwk, type PrivateJwk, type PublicJwk };

/**
 * Makes a new key pair for sealing traces.
 *
 * @example
 * ```ts
 * const { publicJwk, privateJwk } = await generateTraceKeys();
 * ```
 */
export async function generateTraceKeys(): Promise<{
  publicJwk: PublicJwk;
  privateJwk: PrivateJwk;
  kid: string;
}> {
  const { publicKey, privateKey } = await generateKeyPair("ECDH-ES+A256KW", {
    crv: "X25519",
    extractable: true,
  });
  const publicJwk = parsePublicJwk((await exportJWK(publicKey)) as JWK);
  const privateJwk = parsePrivateJwk((await exportJWK(privateKey)) as JWK);
  const kid = await keyId(publicJwk);
  return { publicJwk: { ...publicJwk, kid }, privateJwk: { ...privateJwk, kid }, kid };
}

const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();

/** Imports a JWK for ECDH-ES+A256KW once per isolate. */
export function importTraceKey(jwk: PublicJwk | PrivateJwk): Promise<CryptoKey | Uint8Array> {
  const id = `${"d" in jwk ? "private" : "public"}:${jwk.x}`;
  let key = imported.get(id);
  if (!key) {
    key = importJWK({ ...jwk }, "ECDH-ES+A256KW");
    imported.set(id, key);
  }
  return key;
}

/**
 * A deterministic redaction token for a masked value: the same value in the same trace always
 * gives the same token, so masked data still compares, and the token reveals nothing without the
 * trace's data key.
 *
 * @example
 * ```ts
 * await redactionToken(dataKey, "authorization", "Bearer abc"); // "[masked:3f9a0c…]"
 * ```
 */
export async function redactionToken(
  dataKey: Uint8Array,
  name: string,
  value: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    dataKey as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      key,
      new TextEncoder().encode(`${name.toLowerCase()}\0${value}`),
    ),
  );
  return `[masked:${bytesToHex(mac.subarray(0, 6))}]`;
}
