/**
 * Sealing and opening traces.
 *
 * `sealTrace` is what a recorder calls; `readTrace` reads the clear head without a key (what a
 * dashboard may do); `openTrace` needs the private key and checks the whole file.
 * @module
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { compactDecrypt, decodeProtectedHeader } from "jose";
import { asFluxError, FluxError } from "../errors.js";
import { decodeCbor, encodeCbor, HEAD_LIMITS, PAYLOAD_LIMITS, type DecodeLimits } from "./_cbor.js";
import { resolveLimits } from "./_decode.js";
import { checkFirst } from "./_check.js";
import {
  importTraceKey,
  keyId,
  parsePrivateJwk,
  parsePublicJwk,
  type PrivateJwk,
  type PublicJwk,
} from "./keys.js";
import {
  EVENT_KINDS,
  TRACE_FORMAT,
  TRACE_VERSION,
  TraceFile,
  TraceHead,
  type TraceEvent,
  Payloads,
} from "./schema.js";
import {
  AAD_PREFIX_V2,
  AAD_PREFIX_V3,
  encodePayloadList,
  sealV3,
  TRACE_VERSION_2,
  TRACE_VERSION_3,
  V3_DEFAULT_MASKS,
} from "./_writer.js";
import { unwrapDataKey } from "./_wrap.js";
import { eventFacts } from "./_facts.js";
import {
  loadSigner,
  parseVerifyJwk,
  signerId,
  verifySignature,
  type SigningJwk,
  type VerifyJwk,
} from "./_sign.js";

const KEY_ALG = "ECDH-ES+A256KW";
/** Associated data of a version 1 sealed block: this prefix, then the head bytes. */
const AAD_PREFIX = new TextEncoder().encode(`${TRACE_FORMAT}\0v1\0`);

/** A trace before sealing, or after opening. */
export interface PlainTrace {
  head: TraceHead;
  payloads: unknown[];
}

/** What `readTrace` gives without a key. */
export interface ClearTrace {
  head: TraceHead;
  /** Size in bytes of the sealed payload block. */
  sealedBytes: number;
}

const kidCache = new Map<string, Promise<string>>();
function cachedKeyId(jwk: PublicJwk): Promise<string> {
  let kid = kidCache.get(jwk.x);
  if (!kid) {
    kid = keyId(jwk);
    kidCache.set(jwk.x, kid);
  }
  return kid;
}

function aad(headBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(AAD_PREFIX.length + headBytes.length);
  out.set(AAD_PREFIX);
  out.set(headBytes, AAD_PREFIX.length);
  return out;
}

/**
 * Seals a trace to a public key (format version 2): the payloads are encrypted with AES-256-GCM
 * under this isolate's data key, which is wrapped to the public key as a JWE in the head; the
 * clear head is authenticated too.
 *
 * @example
 * ```ts
 * const bytes = await sealTrace({ head, payloads }, publicJwk);
 * ```
 */
export async function sealTrace(
  trace: {
    head: Omit<TraceHead, "recipient" | "version"> & { version?: number };
    payloads: unknown[];
  },
  publicKey: PublicJwk | string,
  options: { signingKey?: SigningJwk | string } = {},
): Promise<Uint8Array> {
  const signer = options.signingKey ? await loadSigner(options.signingKey) : undefined;
  return sealV3(trace.head, encodePayloadList(trace.payloads), publicKey, { signer });
}

/**
 * {@link sealTrace} for payloads already encoded in version 3's compact profile
 * (`encodePayloadList`; the recorder encodes once to size them).
 */
export async function sealEncoded(
  head: Omit<TraceHead, "recipient" | "version"> & { version?: number },
  payloadBytes: Uint8Array,
  publicKey: PublicJwk | string,
): Promise<Uint8Array> {
  return sealV3(head, payloadBytes, publicKey);
}

/** A trace is a CBOR map whose first key is "format": checked before decoding, so that a cut
 * trace reads as truncated and anything else as not a trace. */
const FORMAT_KEY = Uint8Array.of(0x66, ...new TextEncoder().encode("format"));

function looksLikeTrace(bytes: Uint8Array): boolean {
  const first = bytes[0];
  if (first === undefined || first >> 5 !== 5) return false;
  const at = first <= 0xb7 ? 1 : first === 0xb8 ? 2 : first === 0xb9 ? 3 : first === 0xba ? 5 : -1;
  return (
    at > 0 &&
    bytes.length >= at + FORMAT_KEY.length &&
    FORMAT_KEY.every((b, i) => bytes[at + i] === b)
  );
}

/** Decode limits for the two untrusted parts of a trace. */
interface TraceLimits {
  /** The clear head, read before anything is authenticated. Default {@link HEAD_LIMITS}. */
  head: DecodeLimits;
  /** The opened payload list. Default {@link PAYLOAD_LIMITS}. */
  payloads: DecodeLimits;
}

/** Options of {@link readTrace} and {@link openTrace}. */
export interface ReadOptions {
  /** Raise these for traces recorded with budgets above the defaults. */
  limits?: { head?: Partial<DecodeLimits>; payloads?: Partial<DecodeLimits> };
}

/**
 * The registered verification keys (public Ed25519 JWKs) of each app whose traces are signed:
 * an app listed here must sign every trace; an app not listed reads as unverified. The entry
 * `"*"` applies to every app not listed by name (one app's local checkout).
 */
export type OriginKeys = Readonly<
  Record<string, VerifyJwk | string | readonly (VerifyJwk | string)[]>
>;

/**
 * Reads `FLUX_ORIGIN_KEYS` (the agent's and the dashboard's setting): a JSON object mapping app
 * names to keys; unset is no keys. Anything else is `ERR_KEY_INVALID`. Each key is checked when
 * a trace of its app is.
 *
 * @example
 * ```ts
 * const origin = await verifyOrigin(bytes, parseOriginKeys(env.FLUX_ORIGIN_KEYS));
 * ```
 */
export function parseOriginKeys(json: string | undefined): OriginKeys {
  if (!json) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
    return parsed as OriginKeys;
  throw new FluxError(
    "ERR_KEY_INVALID",
    'FLUX_ORIGIN_KEYS must be JSON: {"<app>": <public Ed25519 JWK>, ...}',
  );
}

/** Where a trace came from, as far as its signature tells. */
export type TraceOrigin =
  { status: "verified"; signer: string } | { status: "unverified"; reason: "unsigned" | "no_key" };

function traceLimits(options: ReadOptions): TraceLimits {
  return {
    head: resolveLimits(options.limits?.head, HEAD_LIMITS),
    payloads: resolveLimits(options.limits?.payloads, PAYLOAD_LIMITS),
  };
}

/** Nonce and tag around the encrypted payloads. */
const SEAL_OVERHEAD = 24 + 16;

/** The outer map holds four short entries and two byte strings: the head and the sealed block. */
function fileLimits(limits: TraceLimits): DecodeLimits {
  const largest = Math.max(limits.head.maxBytes, limits.payloads.maxBytes + SEAL_OVERHEAD);
  return {
    maxBytes: limits.head.maxBytes + limits.payloads.maxBytes + SEAL_OVERHEAD + 1024,
    maxDepth: 2,
    maxItems: 16,
    maxStringBytes: largest,
  };
}

/**
 * Runs a read of untrusted bytes so that it throws nothing but a FluxError: anything else (a bug,
 * an allocation failure) becomes `ERR_TRACE_CORRUPT` with the original as `cause`.
 */
function untrusted<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw asFluxError(err, "ERR_TRACE_CORRUPT", "Could not read the trace");
  }
}

function parseFile(
  bytes: Uint8Array,
  limits: TraceLimits,
): {
  headBytes: Uint8Array;
  head: TraceHead;
  sealed: Uint8Array;
  sig: Uint8Array | undefined;
} {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
    throw new FluxError("ERR_TRACE_CORRUPT", "Could not read the trace: it is empty");
  }
  if (!looksLikeTrace(bytes)) {
    throw new FluxError("ERR_TRACE_CORRUPT", "Could not read the trace: it is not a FluxRun trace");
  }
  const file = decodeCbor(bytes, { limits: fileLimits(limits), what: "trace" }) as Record<
    string,
    unknown
  >;
  if (file.format !== TRACE_FORMAT) {
    throw new FluxError("ERR_TRACE_CORRUPT", "Could not read the trace: it is not a FluxRun trace");
  }
  if (file.version !== 1 && file.version !== TRACE_VERSION_2 && file.version !== TRACE_VERSION_3) {
    const version = Number.isSafeInteger(file.version)
      ? `version ${String(file.version)}`
      : "an unknown version";
    throw new FluxError(
      "ERR_TRACE_VERSION",
      `Could not read the trace: format ${version} is not supported (this build reads versions 1 to ${TRACE_VERSION})`,
    );
  }
  const outer = checkFirst(TraceFile, file);
  if (!outer.success) {
    throw new FluxError("ERR_TRACE_SCHEMA", "Could not read the trace: its envelope is malformed");
  }
  const v3 = file.version === TRACE_VERSION_3;
  const decoded = decodeCbor(outer.data.head, {
    limits: limits.head,
    what: "trace head",
    compact: v3,
  });
  const head = checkFirst(
    TraceHead,
    v3 ? headFromV3(decoded) : file.version === TRACE_VERSION_2 ? headFromV2(decoded) : decoded,
  );
  // The key envelope goes with the version: a JWE up to version 2, `[kid, epk, wrapped]` after.
  if (head.success && "epk" in head.data.recipient !== v3) {
    throw new FluxError(
      "ERR_TRACE_SCHEMA",
      "Could not read the trace: its head does not match the schema (at recipient)",
    );
  }
  if (!head.success || head.data.version !== file.version) {
    throw new FluxError(
      "ERR_TRACE_SCHEMA",
      `Could not read the trace: its head does not match the schema (at ${head.success ? "version" : head.path})`,
    );
  }
  return {
    headBytes: outer.data.head,
    head: head.data,
    sealed: outer.data.sealed,
    sig: outer.data.sig,
  };
}

/**
 * A version 2 head with its events as objects: each positional record
 * `[kind, op, target, at, dur, end, status, flags, parent, error, info]` becomes a TraceEvent.
 * Records that are not arrays are left as they are, for the schema check to refuse.
 */
function headFromV2(decoded: unknown): unknown {
  const head = decoded as { events?: unknown } | null;
  if (typeof head !== "object" || head === null || !Array.isArray(head.events)) return decoded;
  const events = head.events.map((r: unknown, seq: number) => {
    if (!Array.isArray(r)) return r;
    const [kind, op, target, at, dur, end, status, flags, parent, error, info, site] =
      r as unknown[];
    const e: Record<string, unknown> = {
      seq,
      kind: typeof kind === "number" ? EVENT_KINDS[kind] : kind,
      op,
      target,
      at,
    };
    if (dur != null) e.dur = dur;
    if (end != null) e.end = end;
    if (status != null) e.status = status;
    if (typeof flags === "number" && flags & 1) e.write = true;
    if (typeof flags === "number" && flags & 2) e.truncated = true;
    if (flags != null && typeof flags !== "number") e.write = flags;
    if (parent != null) e.parent = parent;
    if (error != null) e.error = error;
    if (info != null) e.info = info;
    if (site != null) e.site = site;
    return e;
  });
  return { ...head, events };
}

/**
 * A version 3 head as the schema reads it: events as in version 2, the recipient
 * `[kid, epk, wrapped]` as an object, and the mask list with the headers every trace masks.
 * Anything of another shape is left as it is, for the schema check to refuse.
 */
function headFromV3(decoded: unknown): unknown {
  const head = headFromV2(decoded) as {
    id?: unknown;
    recipient?: unknown;
    masks?: unknown;
    summary?: unknown;
    events?: unknown;
  } | null;
  if (typeof head !== "object" || head === null) return head;
  const out: Record<string, unknown> = { ...head };
  const summary = head.summary;
  if (typeof summary === "object" && summary !== null && !Array.isArray(summary)) {
    const events = Array.isArray(head.events) ? head.events : [];
    // Events that are not well formed are left for the schema check; facts are taken of the rest.
    const facts = eventFacts(
      events.filter(
        (e): e is TraceEvent =>
          typeof e === "object" && e !== null && typeof (e as TraceEvent).target === "string",
      ),
    );
    out.summary = { traceId: head.id, ...facts, ...summary };
  }
  const r = head.recipient;
  if (Array.isArray(r) && r.length === 3) out.recipient = { kid: r[0], epk: r[1], wrapped: r[2] };
  const m = head.masks;
  if (Array.isArray(m) && m.length === 2 && Array.isArray(m[0])) {
    out.masks = { headers: [...V3_DEFAULT_MASKS, ...(m[0] as unknown[])], fields: m[1] };
  }
  return out;
}

/**
 * Reads the clear part of a trace (summary, events, key id) without a key. Nothing here is
 * authenticated until {@link openTrace} checks it, so it is read under tight limits
 * ({@link HEAD_LIMITS}); whatever the bytes, it throws nothing but a {@link FluxError}.
 *
 * @example
 * ```ts
 * const { head } = readTrace(bytes);
 * console.log(head.summary.route, head.events.length);
 * ```
 */
export function readTrace(bytes: Uint8Array, options: ReadOptions = {}): ClearTrace {
  const limits = traceLimits(options);
  return untrusted(() => {
    const { head, sealed } = parseFile(bytes, limits);
    return { head, sealedBytes: sealed.length };
  });
}

/**
 * Opens a trace with the private key: unwraps the data key, authenticates the whole file and
 * decrypts the payloads. Any change to head or payloads fails with `ERR_TRACE_TAMPERED`. Sealing
 * needs only the public key, so the payloads are read under limits too ({@link PAYLOAD_LIMITS});
 * whatever the bytes, it throws nothing but a {@link FluxError}.
 *
 * @example
 * ```ts
 * const { head, payloads } = await openTrace(bytes, privateJwk);
 * ```
 */
export async function openTrace(
  bytes: Uint8Array,
  privateKey: PrivateJwk | string,
  options: ReadOptions & { origin?: OriginKeys } = {},
): Promise<PlainTrace & { dataKey: Uint8Array; origin: TraceOrigin }> {
  const limits = traceLimits(options);
  try {
    const parsed = parseFile(bytes, limits);
    const origin = await checkOrigin(parsed, options.origin ?? {});
    return { ...(await openParsed(parsed, privateKey, limits)), origin };
  } catch (err) {
    throw asFluxError(err, "ERR_TRACE_CORRUPT", "Could not open the trace");
  }
}

/**
 * Checks who wrote a trace, before anything in it is trusted: the head names its signer and the
 * file carries an Ed25519 signature of head and sealed block. For an app with registered keys,
 * an unsigned trace fails with `ERR_TRACE_UNSIGNED`, a signer that is not registered with
 * `ERR_TRACE_SIGNER` and a signature that does not verify (a forgery, or a change after
 * signing) with `ERR_TRACE_SIGNATURE`; for other apps the trace reads as `unverified`.
 *
 * @example
 * ```ts
 * const origin = await verifyOrigin(bytes, { "shop-api": verifyJwk });
 * if (origin.status !== "verified") console.warn("unverified trace");
 * ```
 */
export async function verifyOrigin(
  bytes: Uint8Array,
  keys: OriginKeys,
  options: ReadOptions = {},
): Promise<TraceOrigin> {
  const limits = traceLimits(options);
  try {
    return await checkOrigin(parseFile(bytes, limits), keys);
  } catch (err) {
    throw asFluxError(err, "ERR_TRACE_CORRUPT", "Could not verify the trace");
  }
}

async function checkOrigin(
  { headBytes, head, sealed, sig }: ReturnType<typeof parseFile>,
  keys: OriginKeys,
): Promise<TraceOrigin> {
  const app = head.summary.app;
  const listed = Object.hasOwn(keys, app)
    ? keys[app]
    : Object.hasOwn(keys, "*")
      ? keys["*"]
      : undefined;
  const registered = (listed === undefined ? [] : Array.isArray(listed) ? listed : [listed]).map(
    (k: VerifyJwk | string) => parseVerifyJwk(k),
  );
  if (!sig || head.signer === undefined) {
    if (registered.length === 0) return { status: "unverified", reason: "unsigned" };
    throw new FluxError(
      "ERR_TRACE_UNSIGNED",
      `Refused the trace: app ${app} signs its traces and this one is unsigned (it may be forged)`,
    );
  }
  if (registered.length === 0) return { status: "unverified", reason: "no_key" };
  for (const jwk of registered) {
    if ((await signerId(jwk)) !== head.signer) continue;
    if (await verifySignature(jwk, sig, headBytes, sealed)) {
      return { status: "verified", signer: head.signer };
    }
    throw new FluxError(
      "ERR_TRACE_SIGNATURE",
      `Refused the trace: its signature by ${head.signer} does not verify (forged, or changed after it was signed)`,
    );
  }
  throw new FluxError(
    "ERR_TRACE_SIGNER",
    `Refused the trace: it is signed by ${head.signer}, which is not a registered key of app ${app}`,
  );
}

async function openParsed(
  { headBytes, head, sealed }: ReturnType<typeof parseFile>,
  privateKey: PrivateJwk | string,
  limits: TraceLimits,
): Promise<PlainTrace & { dataKey: Uint8Array }> {
  const jwk = typeof privateKey === "string" ? parsePrivateJwk(privateKey) : privateKey;
  const kid = await cachedKeyId(jwk);
  if (head.recipient.kid !== kid) {
    throw new FluxError(
      "ERR_TRACE_KEY",
      `Could not open the trace: it is sealed to key ${head.recipient.kid}, not to the given key ${kid}`,
    );
  }
  const v3 = head.version === TRACE_VERSION_3;
  const { recipient } = head;
  const dataKey =
    "epk" in recipient
      ? await unwrapDataKey(recipient, jwk)
      : await unwrapJwe(recipient.jwe, kid, jwk);
  const v2 = head.version === TRACE_VERSION_2;
  if (dataKey.length !== 32 || sealed.length < (v2 || v3 ? 12 + 16 : SEAL_OVERHEAD)) {
    throw new FluxError(
      "ERR_TRACE_TAMPERED",
      "Could not open the trace: its sealed block is malformed",
    );
  }
  let plain: Uint8Array;
  try {
    plain =
      v2 || v3
        ? await openGcm(dataKey, sealed, headBytes, v3 ? AAD_PREFIX_V3 : AAD_PREFIX_V2)
        : xchacha20poly1305(dataKey, sealed.subarray(0, 24), aad(headBytes)).decrypt(
            sealed.subarray(24),
          );
  } catch (cause) {
    throw new FluxError(
      "ERR_TRACE_TAMPERED",
      "Could not open the trace: authentication failed (the file was changed after it was sealed)",
      { cause },
    );
  }
  const payloads = checkFirst(
    Payloads,
    decodeCbor(plain, { limits: limits.payloads, what: "sealed payloads", compact: v3 }),
  );
  if (!payloads.success || payloads.data.length !== head.events.length) {
    throw new FluxError(
      "ERR_TRACE_SCHEMA",
      "Could not open the trace: its payload list does not match its events",
    );
  }
  // Versions 2 and 3 share their data key across an isolate's traces: redaction tokens use a key
  // of this trace's own, derived from it, so they cannot be compared across traces.
  return {
    head,
    payloads: payloads.data,
    dataKey: v2 || v3 ? await traceKeyOf(dataKey, head.id) : dataKey,
  };
}

/** The data key of a version 1 or 2 trace, from its recipient JWE. */
async function unwrapJwe(jwe: string, kid: string, jwk: PrivateJwk): Promise<Uint8Array> {
  let protectedKid: unknown;
  try {
    protectedKid = decodeProtectedHeader(jwe).kid;
  } catch (cause) {
    throw new FluxError(
      "ERR_TRACE_TAMPERED",
      "Could not open the trace: its key envelope is damaged",
      { cause },
    );
  }
  if (protectedKid !== kid) {
    throw new FluxError(
      "ERR_TRACE_TAMPERED",
      "Could not open the trace: its key envelope was altered",
    );
  }
  try {
    const { plaintext } = await compactDecrypt(jwe, await importTraceKey(jwk), {
      keyManagementAlgorithms: [KEY_ALG],
      contentEncryptionAlgorithms: ["A256GCM"],
    });
    return plaintext;
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

/**
 * AES-256-GCM of versions 2 and 3: 12-byte nonce, then ciphertext and tag; the version's prefix
 * and the head as associated data.
 */
async function openGcm(
  key: Uint8Array,
  sealed: Uint8Array,
  headBytes: Uint8Array,
  prefix: Uint8Array,
): Promise<Uint8Array> {
  const additionalData = new Uint8Array(prefix.length + headBytes.length);
  additionalData.set(prefix);
  additionalData.set(headBytes, prefix.length);
  const k = await crypto.subtle.importKey("raw", key as BufferSource, "AES-GCM", false, [
    "decrypt",
  ]);
  return new Uint8Array(
    await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: sealed.subarray(0, 12) as BufferSource,
        additionalData,
        tagLength: 128,
      },
      k,
      sealed.subarray(12) as BufferSource,
    ),
  );
}

/** A trace's own key, derived from an isolate's data key (HKDF-SHA-256, the trace id as info). */
async function traceKeyOf(dataKey: Uint8Array, traceId: string): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey("raw", dataKey as BufferSource, "HKDF", false, [
    "deriveBits",
  ]);
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: new Uint8Array(0),
        info: new TextEncoder().encode(`fluxrun/trace-key\0${traceId}`),
      },
      base,
      256,
    ),
  );
}
