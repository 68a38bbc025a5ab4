/**
 * The key envelope of trace format version 3: an isolate's data key wrapped to the customer's
 * X25519 public key in 72 bytes, with Web Crypto alone.
 *
 * An ephemeral X25519 key pair is made per data key; the shared secret goes through HKDF-SHA-256
 * (salt: the ephemeral and the recipient public keys, info: {@link WRAP_INFO}) to an AES-KW key
 * (RFC 3394), which wraps the 32-byte data key into 40 bytes whose integrity check fails on any
 * change. The head keeps `[kid, epk, wrapped]`: what version 2 kept as a 430-byte JWE.
 * @module
 */
import { FluxError } from "../errors.js";
import { fromBase64url } from "./_jwk.js";

const subtle = () => crypto.subtle;
const WRAP_INFO = new TextEncoder().encode("fluxrun/trace v3 data key");

async function wrappingKey(
  z: Uint8Array,
  epk: Uint8Array,
  recipient: Uint8Array,
  usage: "wrapKey" | "unwrapKey",
): Promise<CryptoKey> {
  const base = await subtle().importKey("raw", z as BufferSource, "HKDF", false, ["deriveBits"]);
  const salt = new Uint8Array(epk.length + recipient.length);
  salt.set(epk);
  salt.set(recipient, epk.length);
  const bits = await subtle().deriveBits(
    { name: "HKDF", hash: "SHA-256", salt, info: WRAP_INFO },
    base,
    256,
  );
  return subtle().importKey("raw", bits, "AES-KW", false, [usage]);
}

async function sharedSecret(publicKey: CryptoKey, privateKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(
    await subtle().deriveBits(
      { name: "X25519", public: publicKey } as unknown as SubtleCryptoDeriveKeyAlgorithm,
      privateKey,
      256,
    ),
  );
}

/** Wraps a 32-byte data key to the X25519 public key `x` (base64url): `{ epk, wrapped }`. */
export async function wrapDataKey(
  key: CryptoKey,
  x: string,
): Promise<{ epk: Uint8Array; wrapped: Uint8Array }> {
  const recipient = fromBase64url(x);
  const publicKey = await subtle().importKey(
    "raw",
    recipient as BufferSource,
    { name: "X25519" },
    false,
    [],
  );
  const ephemeral = (await subtle().generateKey({ name: "X25519" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const epk = new Uint8Array((await subtle().exportKey("raw", ephemeral.publicKey)) as ArrayBuffer);
  const z = await sharedSecret(publicKey, ephemeral.privateKey);
  const kek = await wrappingKey(z, epk, recipient, "wrapKey");
  z.fill(0);
  const wrapped = new Uint8Array(await subtle().wrapKey("raw", key, kek, "AES-KW"));
  return { epk, wrapped };
}

/**
 * Unwraps a data key with the recipient's private X25519 JWK (`d` and `x`). Anything that does not
 * unwrap (a changed `epk` or `wrapped`, another key) is `ERR_TRACE_TAMPERED`.
 */
export async function unwrapDataKey(
  envelope: { epk: Uint8Array; wrapped: Uint8Array },
  jwk: { x: string; d: string },
): Promise<Uint8Array> {
  try {
    const privateKey = await subtle().importKey(
      "jwk",
      { kty: "OKP", crv: "X25519", x: jwk.x, d: jwk.d },
      { name: "X25519" },
      false,
      ["deriveBits"],
    );
    const publicKey = await subtle().importKey(
      "raw",
      envelope.epk as BufferSource,
      { name: "X25519" },
      false,
      [],
    );
    const z = await sharedSecret(publicKey, privateKey);
    const kek = await wrappingKey(z, envelope.epk, fromBase64url(jwk.x), "unwrapKey");
    z.fill(0);
    const key = await subtle().unwrapKey(
      "raw",
      envelope.wrapped as BufferSource,
      kek,
      "AES-KW",
      "AES-GCM",
      true,
      ["decrypt"],
    );
    return new Uint8Array((await subtle().exportKey("raw", key)) as ArrayBuffer);
  } catch (cause) {
    throw new FluxError(
      "ERR_TRACE_TAMPERED",
      "Could not open the trace: its data key did not unwrap",
      {
        cause,
      },
    );
  }
}
