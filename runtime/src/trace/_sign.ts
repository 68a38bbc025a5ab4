/**
 * Trace origin: the recording worker signs each trace (its head bytes and its sealed block) with
 * an Ed25519 key of its own, held as a Worker secret (`FLUX_SIGNING_KEY`), never in the config.
 * Sealing needs only the public key, which is not a secret, so a seal alone proves nothing about
 * who wrote a trace; the signature does. Verifiers (agent, dashboard, CLI) hold the public half
 * per app. Web Crypto only: this file is in the recorder's import graph.
 * @module
 */
import { FluxError } from "../errors.js";
import { okpThumbprint, parseOkpJwk } from "./_jwk.js";

/** A public Ed25519 JWK: what verifiers register per app. */
export interface VerifyJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
}

/** A private Ed25519 JWK (holds `d`): the recording worker's secret `FLUX_SIGNING_KEY`. */
export interface SigningJwk extends VerifyJwk {
  d: string;
}

/** A loaded signing key and the id written into each head it signs. */
export interface Signer {
  key: CryptoKey;
  kid: string;
}

const enc = new TextEncoder();
const B64URL = /^[A-Za-z0-9_-]{1,128}$/;
/** Bytes of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** Domain separation of the signed message. */
const SIGNED_PREFIX = enc.encode("fluxrun-trace\0origin\0");

/** A key's `x` and `d` are short: a longer value is not a key of this curve. */
function parseOkp(input: string | object, what: string): Record<string, unknown> {
  const k = parseOkpJwk(input, "Ed25519", what);
  if (!B64URL.test(k.x as string)) {
    throw new FluxError(
      "ERR_KEY_INVALID",
      `The ${what} is not an Ed25519 JWK (kty OKP, crv Ed25519)`,
    );
  }
  return k;
}

/**
 * Parses a verification key. Refuses a private key: verifiers never need the signing half.
 *
 * @example
 * ```ts
 * const key = parseVerifyJwk(await readFile(".fluxrun/signing-public.jwk", "utf8"));
 * ```
 */
export function parseVerifyJwk(input: string | object): VerifyJwk {
  const k = parseOkp(input, "trace verification key");
  if ("d" in k) {
    throw new FluxError(
      "ERR_KEY_INVALID",
      "The trace verification key holds a private key; register only its public half",
    );
  }
  return { kty: "OKP", crv: "Ed25519", x: k.x as string };
}

/** Parses the recording worker's signing key (`FLUX_SIGNING_KEY`). */
export function parseSigningJwk(input: string | object): SigningJwk {
  const k = parseOkp(input, "trace signing key (FLUX_SIGNING_KEY)");
  if (typeof k.d !== "string" || !B64URL.test(k.d)) {
    throw new FluxError(
      "ERR_KEY_INVALID",
      "The trace signing key (FLUX_SIGNING_KEY) has no private part (d)",
    );
  }
  return { kty: "OKP", crv: "Ed25519", x: k.x as string, d: k.d };
}

/** The id of a signing key: the RFC 7638 thumbprint of its public part (SHA-256, base64url). */
export function signerId(jwk: VerifyJwk): Promise<string> {
  return okpThumbprint("Ed25519", jwk.x);
}

const signers = new Map<string, Promise<Signer>>();

/**
 * Loads a signing key once per isolate.
 *
 * @example
 * ```ts
 * const signer = await loadSigner(env.FLUX_SIGNING_KEY);
 * ```
 */
export function loadSigner(input: string | SigningJwk): Promise<Signer> {
  const cacheKey = typeof input === "string" ? input : input.d;
  let pending = signers.get(cacheKey);
  if (!pending) {
    pending = (async () => {
      const jwk = parseSigningJwk(input);
      const key = await crypto.subtle
        .importKey("jwk", { ...jwk, ext: false } as JsonWebKey, { name: "Ed25519" }, false, [
          "sign",
        ])
        .catch((cause: unknown) => {
          throw new FluxError("ERR_KEY_INVALID", "The trace signing key did not import", {
            cause,
          });
        });
      return { key, kid: await signerId(jwk) };
    })();
    signers.set(cacheKey, pending);
    pending.catch(() => signers.delete(cacheKey));
  }
  return pending;
}

/**
 * What is signed: a fixed prefix, the head's length (4 bytes, big-endian), the head, the sealed
 * block (given in parts: the writer has nonce and ciphertext apart).
 */
function signedMessage(headBytes: Uint8Array, sealed: readonly Uint8Array[]): Uint8Array {
  const size = sealed.reduce(
    (n, part) => n + part.length,
    SIGNED_PREFIX.length + 4 + headBytes.length,
  );
  const out = new Uint8Array(size);
  out.set(SIGNED_PREFIX);
  new DataView(out.buffer).setUint32(SIGNED_PREFIX.length, headBytes.length);
  let at = SIGNED_PREFIX.length + 4;
  for (const part of [headBytes, ...sealed]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Signs a trace's head bytes and sealed block (its parts, in order). */
export async function signTrace(
  signer: Signer,
  headBytes: Uint8Array,
  sealed: readonly Uint8Array[],
): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign(
      "Ed25519",
      signer.key,
      signedMessage(headBytes, sealed) as BufferSource,
    ),
  );
}

/** True when `signature` is a valid signature of head and sealed block by `jwk`. */
export async function verifySignature(
  jwk: VerifyJwk,
  signature: Uint8Array,
  headBytes: Uint8Array,
  sealed: Uint8Array,
): Promise<boolean> {
  if (signature.length !== SIGNATURE_BYTES) return false;
  const key = await crypto.subtle.importKey("jwk", jwk as JsonWebKey, { name: "Ed25519" }, false, [
    "verify",
  ]);
  return crypto.subtle.verify(
    "Ed25519",
    key,
    signature as BufferSource,
    signedMessage(headBytes, [sealed]) as BufferSource,
  );
}

/**
 * Makes a signing key pair (Node, Deno, Workers): the private JWK is the recording worker's
 * `FLUX_SIGNING_KEY` secret, the public JWK is registered with the verifiers.
 *
 * @example
 * ```ts
 * const { signingJwk, verifyJwk, kid } = await generateSigningKeys();
 * ```
 */
export async function generateSigningKeys(): Promise<{
  signingJwk: SigningJwk;
  verifyJwk: VerifyJwk;
  kid: string;
}> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const exported = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const signingJwk = parseSigningJwk(exported);
  const verifyJwk: VerifyJwk = { kty: "OKP", crv: "Ed25519", x: signingJwk.x };
  return { signingJwk, verifyJwk, kid: await signerId(verifyJwk) };
}
