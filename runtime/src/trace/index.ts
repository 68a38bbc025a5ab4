/**
 * `fluxrun/trace`: read, open and seal traces; keys; the format's schemas. Replay envelopes are in
 * `fluxrun/replay`; the storage key layout is `fluxrun/contract`'s.
 * Runtime-agnostic (Workers, Deno, Node).
 * @module
 */
export {
  readTrace,
  openTrace,
  verifyOrigin,
  parseOriginKeys,
  type OriginKeys,
  type TraceOrigin,
  sealTrace,
  type PlainTrace,
  type ClearTrace,
  type ReadOptions,
} from "./seal.js";
export {
  generateTraceKeys,
  parsePublicJwk,
  parsePrivateJwk,
  keyId,
  redactionToken,
  type PublicJwk,
  type PrivateJwk,
} from "./keys.js";
export {
  generateSigningKeys,
  parseSigningJwk,
  parseVerifyJwk,
  signerId,
  type SigningJwk,
  type VerifyJwk,
} from "./_sign.js";
export {
  loadOriginKeys,
  loadPrivateKey,
  PRIVATE_KEY_FILE,
  VERIFY_KEY_FILE,
  type LoadPrivateKeyOptions,
} from "./key-file.js";
export * from "./schema.js";
export {
  encodeCbor,
  decodeCbor,
  HEAD_LIMITS,
  PAYLOAD_LIMITS,
  type DecodeLimits,
  type DecodeOptions,
} from "./_cbor.js";
