/**
 * X25519 keys as plain JWK JSON (what jose's exportJWK writes): parsing and key ids, with Web
 * Crypto alone, so the recorder can name the key it seals to without jose in its bundle.
 * @module
 */
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

/** The bytes of unpadded base64url text; a TypeError for any other character. */
export function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError("not base64url");
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * An OKP JWK of curve `crv` (JSON text or object) as a plain record, its `x` base64url; anything
 * else is `ERR_KEY_INVALID` naming `what`. Shared by the trace keys (X25519) and the signing
 * keys (Ed25519).
 */
export function parseOkpJwk(
  input: string | object,
  crv: "X25519" | "Ed25519",
  what: string,
): Record<string, unknown> {
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
  if (k.kty !== "OKP" || k.crv !== crv || typeof k.x !== "string" || !B64URL.test(k.x)) {
    throw new FluxError(
      "ERR_KEY_INVALID",
      `The ${what} is not an ${crv} JWK (kty OKP, crv ${crv})`,
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
  const k = parseOkpJwk(input, "X25519", "public key");
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
  const k = parseOkpJwk(input, "X25519", "private key");
  if (typeof k.d !== "string" || !B64URL.test(k.d)) {
    throw new FluxError("ERR_KEY_INVALID", "The private key has no private part (d)");
  }
  return { kty: "OKP", crv: "X25519", x: k.x as string, d: k.d };
}

/** The key id FluxRun uses: the RFC 7638 thumbprint of the public part (SHA-256, base64url). */
export function keyId(jwk: PublicJwk): Promise<string> {
  return okpThumbprint("X25519", jwk.x);
}

/** The RFC 7638 thumbprint (SHA-256, base64url) of an OKP public key. */
export async function okpThumbprint(crv: "X25519" | "Ed25519", x: string): Promise<string> {
  const canonical = `{"crv":"${crv}","kty":"OKP","x":"${x}"}`;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical) as BufferSource),
  );
  let s = "";
  for (const b of digest) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
