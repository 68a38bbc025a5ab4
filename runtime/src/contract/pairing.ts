/**
 * The pairing contract between a local connector (`fluxrun agent`) and the dashboard: the claim
 * code's alphabet, length and limits, the bodies the browser carries between the two
 * (`GET/POST /v1/pair` on the connector, `POST /api/pairings` and `/api/pairings/:id/confirm` on
 * the dashboard), the connector's refusal codes, and the two MACs keyed by the claim code.
 *
 * The claim code is the shared secret: the connector printed it, the signed-in user types it into
 * the dashboard. Both derive `K = HKDF-SHA256(code, salt = connector nonce, info)`; the dashboard
 * MACs its offer (workspace, user, its token JWKS, the connector's id and nonce) with K, the
 * connector MACs its confirmation (pairing id, agent id, signing key thumbprint, the
 * dashboard's nonce) with K. Neither side accepts material from someone without the code.
 * @module
 */
import * as z from "zod/mini";

/** Crockford base32: 32 symbols without I, L, O, U (typed I/L read as 1, O as 0). */
export const CLAIM_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Symbols of a claim code: 8 × 5 bits = 40 bits, shown as `XXXX-XXXX`. */
export const CLAIM_CODE_LENGTH = 8;
/** A claim code lives at most this long, in seconds. */
export const CLAIM_CODE_TTL_S = 300;
/** Wrong codes the connector takes before it burns the claim code. */
export const CLAIM_CODE_MAX_ATTEMPTS = 5;
/** Pairing attempts one dashboard user may start per window. */
export const PAIRING_USER_ATTEMPTS = 5;
export const PAIRING_USER_WINDOW_S = 600;
/** Characters of a serialized offer at most. */
export const PAIRING_OFFER_MAX = 8192;

const b64url = (min: number, max: number) =>
  z.string().check(z.regex(/^[A-Za-z0-9_-]+$/), z.minLength(min), z.maxLength(max));
const bounded = z.string().check(z.minLength(1), z.maxLength(256));
/** A pairing id the dashboard chose. */
export const PairingId = z.string().check(z.regex(/^[A-Za-z0-9_-]{8,64}$/));

/** A public Ed25519 JWK (no private part). */
export const PublicEd25519Jwk = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: b64url(43, 43),
});
export type PublicEd25519Jwk = z.infer<typeof PublicEd25519Jwk>;

const TokenJwk = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: b64url(43, 43),
  kid: bounded,
  alg: z.optional(z.literal("EdDSA")),
  use: z.optional(z.literal("sig")),
});
/** The dashboard's token-verification keys, public only. */
export const PairingJwks = z.object({
  keys: z.array(TokenJwk).check(z.minLength(1), z.maxLength(4)),
});
export type PairingJwks = z.infer<typeof PairingJwks>;

/** `GET /v1/pair` on the connector: who it is and the claim code's nonce (never the code). */
export const PairingHello = z.object({
  agentId: bounded,
  /** The connector's replay-signing public key. */
  signingKey: PublicEd25519Jwk,
  /** Salt of K; fresh per claim code. */
  nonce: b64url(22, 64),
  /** Epoch seconds after which the code is refused. */
  expiresAt: z.int(),
});
export type PairingHello = z.infer<typeof PairingHello>;

/** `POST /api/pairings` (dashboard): the code, the workspace, and what the connector said. */
export const PairingStartRequest = z.object({
  ws: bounded,
  code: z.string().check(z.maxLength(32)),
  agent: z.object({
    origin: z.string().check(z.maxLength(256)),
    id: bounded,
    signingKey: PublicEd25519Jwk,
    nonce: b64url(22, 64),
  }),
});
export type PairingStartRequest = z.infer<typeof PairingStartRequest>;

/** What the dashboard offers the connector (serialized, then MACed as sent). */
export const PairingOffer = z.object({
  v: z.literal(1),
  pairing: PairingId,
  /** The workspace the connector will serve. */
  ws: bounded,
  /** The user who paired it. */
  sub: bounded,
  /** The dashboard's origin (the connector allows it for CORS). */
  dashboard: z.string().check(z.maxLength(256)),
  jwks: PairingJwks,
  agentId: bounded,
  agentNonce: b64url(22, 64),
  dashboardNonce: b64url(22, 64),
  /** Epoch seconds; never after the claim code's own expiry matters, both are checked. */
  exp: z.int(),
});
export type PairingOffer = z.infer<typeof PairingOffer>;

/** Answer of `POST /api/pairings` and body of `POST /v1/pair`. */
export const PairingOfferEnvelope = z.object({
  pairing: PairingId,
  offer: z.string().check(z.maxLength(PAIRING_OFFER_MAX)),
  mac: b64url(43, 43),
});
export type PairingOfferEnvelope = z.infer<typeof PairingOfferEnvelope>;

/** `POST /v1/pair` answer: the connector's confirmation, MACed with K. */
export const PairingConfirmation = z.object({
  pairing: PairingId,
  agentId: bounded,
  mac: b64url(43, 43),
});
export type PairingConfirmation = z.infer<typeof PairingConfirmation>;

/** `POST /api/pairings/:id/confirm` body. */
export const PairingConfirmRequest = z.object({
  code: z.string().check(z.maxLength(32)),
  mac: b64url(43, 43),
});
export type PairingConfirmRequest = z.infer<typeof PairingConfirmRequest>;

/** The connector's refusals of a pairing or of a token after pairing, with HTTP status. */
export const PAIRING_AGENT_ERRORS = {
  /** The connector shows no claim code (it is not waiting to be paired). */
  ERR_PAIR_NO_CODE: 409,
  /** The claim code is older than {@link CLAIM_CODE_TTL_S}. */
  ERR_PAIR_CODE_EXPIRED: 409,
  /** This exchange was already accepted: a replay of it is refused. */
  ERR_PAIR_CODE_USED: 409,
  /** Another exchange claimed the code first (two browsers, one code: one wins). */
  ERR_PAIR_RACED: 409,
  /** The offer's MAC does not verify: wrong (or guessed) claim code. */
  ERR_PAIR_CODE_WRONG: 401,
  /** Too many wrong codes: the claim code is burnt; start `fluxrun agent --pair` again. */
  ERR_PAIR_CODE_BURNT: 429,
  /** The offer is malformed or not for this connector and code. */
  ERR_PAIR_OFFER: 400,
  /** The agent is not a pairing connector. */
  ERR_PAIRING_UNAVAILABLE: 503,
  /** The connector is paired with no workspace: it accepts no token. */
  ERR_NOT_PAIRED: 403,
  /** The pairing of the token's workspace was revoked. */
  ERR_PAIRING_REVOKED: 403,
} as const;

/** `XXXX-XXXX`: how a code is shown. */
export function formatClaimCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * A typed code as its canonical symbols (upper case, I/L → 1, O → 0, separators dropped), or
 * null when it cannot be a claim code.
 *
 * @example
 * ```ts
 * normalizeClaimCode("abcd-efgh"); // "ABCDEFGH"
 * ```
 */
export function normalizeClaimCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
  if (s.length !== CLAIM_CODE_LENGTH) return null;
  for (const ch of s) if (!CLAIM_CODE_ALPHABET.includes(ch)) return null;
  return s;
}

/**
 * A fresh claim code (canonical symbols) from `random` (default crypto.getRandomValues).
 *
 * @example
 * ```ts
 * formatClaimCode(newClaimCode()); // "7QK2-M9XD"
 * ```
 */
export function newClaimCode(
  random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b),
): string {
  const bytes = random(new Uint8Array(CLAIM_CODE_LENGTH));
  let out = "";
  for (const b of bytes) out += CLAIM_CODE_ALPHABET[b & 31];
  return out;
}

const enc = new TextEncoder();

function b64(bytes: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * K: the MAC key both sides derive from the claim code and the connector's nonce.
 *
 * @example
 * ```ts
 * const key = await pairingKey("ABCDEFGH", hello.nonce);
 * ```
 */
export async function pairingKey(code: string, nonce: string): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", enc.encode(code), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: enc.encode(nonce), info: enc.encode("fluxrun-pair-v1") },
    ikm,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

/** What the connector's confirmation MAC covers. */
export interface ConfirmationFields {
  pairing: string;
  agentId: string;
  /** RFC 7638 thumbprint of the connector's signing key. */
  thumbprint: string;
  dashboardNonce: string;
}

const message = {
  offer: (offer: string) => `fluxrun-pair-offer\n${offer}`,
  confirmation: (f: ConfirmationFields) =>
    ["fluxrun-pair-confirm", f.pairing, f.agentId, f.thumbprint, f.dashboardNonce].join("\n"),
};

async function mac(key: CryptoKey, text: string): Promise<string> {
  return b64(await crypto.subtle.sign("HMAC", key, enc.encode(text)));
}

async function verifyMac(key: CryptoKey, text: string, tag: string): Promise<boolean> {
  const bytes = Uint8Array.from(atob(tag.replace(/-/g, "+").replace(/_/g, "/")), (c) =>
    c.charCodeAt(0),
  );
  return crypto.subtle.verify("HMAC", key, bytes, enc.encode(text));
}

/**
 * The dashboard's MAC over the serialized offer, and its check (constant time, Web Crypto).
 *
 * @example
 * ```ts
 * const tag = await pairingMacs.offer(key, offerJson);
 * await pairingMacs.verifyOffer(key, offerJson, tag); // true
 * ```
 */
export const pairingMacs = {
  offer: (key: CryptoKey, offer: string) => mac(key, message.offer(offer)),
  verifyOffer: (key: CryptoKey, offer: string, tag: string) =>
    verifyMac(key, message.offer(offer), tag),
  confirmation: (key: CryptoKey, f: ConfirmationFields) => mac(key, message.confirmation(f)),
  verifyConfirmation: (key: CryptoKey, f: ConfirmationFields, tag: string) =>
    verifyMac(key, message.confirmation(f), tag),
};
