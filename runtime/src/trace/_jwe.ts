/**
 * A compact JWE (RFC 7516) of a key, encrypted to an X25519 public key with ECDH-ES+A256KW and
 * A256GCM (RFC 7518 §4.6, §5.3), written with Web Crypto alone: what the recorder needs to hand
 * its data key to the customer's agent, without jose in the recording bundle. jose's
 * `compactDecrypt` (the agent, the CLI) opens it.
 * @module
 */

const enc = new TextEncoder();
const ALG = "ECDH-ES+A256KW";

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The Concat KDF of RFC 7518 §4.6.2 for a 256-bit key-wrapping key, no PartyU/V info. */
async function concatKdf(z: Uint8Array): Promise<Uint8Array> {
  const algId = enc.encode(ALG);
  const input = concat(u32(1), z, u32(algId.length), algId, u32(0), u32(0), u32(256));
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input as BufferSource));
}

/**
 * Encrypts `key` (raw bytes) to the X25519 public key `x` (base64url) as a compact JWE whose
 * protected header names `kid`.
 */
export async function wrapKey(
  key: Uint8Array,
  recipient: { x: string; kid: string },
): Promise<string> {
  const subtle = crypto.subtle;
  const publicKey = await subtle.importKey(
    "jwk",
    { kty: "OKP", crv: "X25519", x: recipient.x },
    { name: "X25519" },
    false,
    [],
  );
  const ephemeral = (await subtle.generateKey({ name: "X25519" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const z = new Uint8Array(
    await subtle.deriveBits(
      { name: "X25519", public: publicKey } as unknown as SubtleCryptoDeriveKeyAlgorithm,
      ephemeral.privateKey,
      256,
    ),
  );
  const kek = await subtle.importKey("raw", (await concatKdf(z)) as BufferSource, "AES-KW", false, [
    "wrapKey",
  ]);
  z.fill(0);
  const epk = (await subtle.exportKey("jwk", ephemeral.publicKey)) as JsonWebKey;
  const header = b64url(
    enc.encode(
      JSON.stringify({
        alg: ALG,
        enc: "A256GCM",
        kid: recipient.kid,
        epk: { kty: "OKP", crv: "X25519", x: epk.x },
      }),
    ),
  );
  const cek = (await subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
    "encrypt",
  ])) as CryptoKey;
  const wrapped = new Uint8Array(await subtle.wrapKey("raw", cek, kek, "AES-KW"));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: enc.encode(header), tagLength: 128 },
      cek,
      key as BufferSource,
    ),
  );
  const ciphertext = sealed.subarray(0, sealed.length - 16);
  const tag = sealed.subarray(sealed.length - 16);
  return [header, b64url(wrapped), b64url(iv), b64url(ciphertext), b64url(tag)].join(".");
}
