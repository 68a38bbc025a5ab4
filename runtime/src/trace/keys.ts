/**
 * X25519 keys as plain JWK JSON (what jose's exportJWK writes): parsing, key ids, generation.
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { FluxError } from "../errors.js";

/** A public X25519 JWK. */
export interface PublicJwk {
  kty: "OKP";
  crv: "X25519";
  x: string;
  kid?: string;
}

/** A private X25519 JWK (holds `d`). Keep it out of repositories and dashboards. */
export interface PrivateJwk extends PublicJwk {
  d: string;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function parseJwk(input: string | object, what: string): Record<string, unknown> {
  let jwk: unknown = input;
  if (typeof input === "string") {
    try {
      jwk = JSON.parse(input);
    } catch (cause) {
      throw new FluxError("ERR_KEY_INVALID", `Could not parse the ${what} as JSON`, { cause });
    }
  }
  if (typeof jwk !== "object" || jwk === null) {
    throw new FluxError("ERR_KEY_INVALID", `The ${what} is not a JWK object`);
  }
  const k = jwk as Record<string, unknown>;
  if (k.kty !== "OKP" || k.crv !== "X25519" || typeof k.x !== "string" || !B64URL.test(k.x)) {
    throw new FluxError(
      "ERR_KEY_INVALID",
      `The ${what} is not an X25519 JWK (kty OKP, crv X25519)`,
    );
  }
  return k;
}

/**
 * Parses the public key a recorder seals to. Refuses a private key: the private half must never
 * be deployed with the recorded worker.
 *
 * @example
 * ```ts
 * const pub = parsePublicJwk(env.FLUX_PUBLIC_KEY);
 * ```
 */
export function parsePublicJwk(input: string | object): PublicJwk {
  const k = parseJwk(input, "public key");
  if ("d" in k) {
    throw new FluxError(
      "ERR_KEY_INVALID",
      "FLUX_PUBLIC_KEY holds a private key; deploy only the public JWK with the worker",
    );
  }
  return { kty: "OKP", crv: "X25519", x: k.x as string };
}

/**
 * Parses the private key that opens traces.
 *
 * @example
 * ```ts
 * const key = parsePrivateJwk(await readFile("agent-private.jwk", "utf8"));
 * ```
 */
export function parsePrivateJwk(input: string | object): PrivateJwk {
  const k = parseJwk(input, "private key");
  if (typeof k.d !== "string" || !B64URL.test(k.d)) {
    throw new FluxError("ERR_KEY_INVALID", "The private key has no private part (d)");
  }
  return { kty: "OKP", crv: "X25519", x: k.x as string, d: k.d };
}

/** The key id FluxRun uses: the RFC 7638 thumbprint of the public part. */
export function keyId(jwk: PublicJwk): Promise<string> {
  return calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
}

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
