/**
 * The trace writer (format version 3), as a recorder runs it: Web Crypto and FluxRun's own CBOR
 * writer only, no schema library, decoder or jose in its import graph.
 *
 * One key agreement per isolate: a data-encryption key (AES-256-GCM) is made once and wrapped to
 * the customer's public key (`_wrap.ts`: 72 bytes), and each trace is sealed under it with a
 * fresh 96-bit nonce, its head naming the key (kid) and carrying the wrapped key. The key is
 * replaced after {@link DEK_MAX_USES} traces or {@link DEK_MAX_AGE_MS}, well inside AES-GCM's
 * bound for random nonces.
 *
 * Version 3 over version 2: head and payloads are written in the compact profile (`_profile.ts`:
 * integer keys, string references), the recipient is `[kid, epk, wrapped]` instead of a JWE, and
 * the mask list leaves out the headers every trace masks ({@link V3_DEFAULT_MASKS}). Events are
 * positional records as in version 2, with integer-coded kinds:
 * `[kind, op, target, at, dur, end, status, flags, parent, error, info, site]`, trailing absent
 * fields left out, flags `1` write and `2` truncated.
 * @module
 */
import { CborWriter, headLength, ReusedWriter } from "./_encode.js";
import { wrapDataKey } from "./_wrap.js";
import { keyId, parsePublicJwk, type PublicJwk } from "./_jwk.js";
import { signTrace, type Signer } from "./_sign.js";
import { EVENT_KINDS, TRACE_FORMAT } from "./_kinds.js";
import type { TraceEvent, TraceHead, TraceSummary } from "./schema.js";
import { eventFacts } from "./_facts.js";
import { sameValue } from "./_equal.js";

/** The format version before this one: AES-256-GCM, a JWE recipient, plain CBOR. */
export const TRACE_VERSION_2 = 2;
/** The format version this writer writes. */
export const TRACE_VERSION_3 = 3;
/**
 * Header names a version 3 head's mask list leaves out because every trace masks them (the
 * defaults when version 3 was made; fixed with the format, whatever the defaults become).
 */
export const V3_DEFAULT_MASKS: readonly string[] = Object.freeze([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-auth-token",
  "x-csrf-token",
  "x-amz-security-token",
  "cf-access-jwt-assertion",
]);
/** Traces sealed under one data key before a new one is made. */
export const DEK_MAX_USES = 1 << 20;
/** Age after which a data key is replaced, in milliseconds. */
export const DEK_MAX_AGE_MS = 60 * 60 * 1000;

const enc = new TextEncoder();
/** Associated data of the sealed block: this prefix, then the exact head bytes. */
export const AAD_PREFIX_V2 = enc.encode(`${TRACE_FORMAT}\0v${TRACE_VERSION_2}\0`);
export const AAD_PREFIX_V3 = enc.encode(`${TRACE_FORMAT}\0v${TRACE_VERSION_3}\0`);

const KIND_CODES = new Map<string, number>(EVENT_KINDS.map((k, i) => [k, i]));

interface DataKey {
  key: CryptoKey;
  /** `[kid, epk, wrapped]` */
  recipient: [string, Uint8Array, Uint8Array];
  uses: number;
  created: number;
}

const dataKeys = new Map<string, Promise<DataKey>>();

async function makeDataKey(jwk: PublicJwk, now: number): Promise<DataKey> {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const kid = await keyId(jwk);
  const wrappable = await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", true, [
    "encrypt",
  ]);
  const { epk, wrapped } = await wrapDataKey(wrappable, jwk.x);
  const key = await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
  ]);
  raw.fill(0);
  return { key, recipient: [kid, epk, wrapped], uses: 0, created: now };
}

/** This isolate's data key for `jwk`, made or replaced as needed. */
async function dataKeyFor(jwk: PublicJwk, now: number): Promise<DataKey> {
  let pending = dataKeys.get(jwk.x);
  if (pending) {
    const current = await pending;
    if (current.uses < DEK_MAX_USES && now - current.created < DEK_MAX_AGE_MS) return current;
    if (dataKeys.get(jwk.x) === pending) dataKeys.delete(jwk.x);
    pending = dataKeys.get(jwk.x);
    if (pending) return pending;
  }
  pending = makeDataKey(jwk, now);
  dataKeys.set(jwk.x, pending);
  pending.catch(() => dataKeys.delete(jwk.x));
  return pending;
}

function writeEvent(w: CborWriter, e: TraceEvent): void {
  const flags = (e.write ? 1 : 0) | (e.truncated ? 2 : 0);
  const fields: unknown[] = [
    KIND_CODES.get(e.kind) ?? 0,
    e.op,
    e.target,
    e.at,
    e.dur ?? null,
    e.end ?? null,
    e.status ?? null,
    flags || null,
    e.parent ?? null,
    e.error ?? null,
    e.info ?? null,
    e.site ?? null,
  ];
  while (fields.length > 4 && fields[fields.length - 1] === null) fields.pop();
  w.value(fields);
}

/**
 * The summary as a version 3 head keeps it: without the trace id (the head's `id`), the event
 * counts and the fetches when they are what the events give (`_facts.ts`): the reader puts them
 * back.
 */
function headSummary(head: Omit<TraceHead, "recipient" | "version">): Partial<TraceSummary> {
  const { traceId, eventCounts, fetches, ...rest } = head.summary;
  const facts = eventFacts(head.events);
  const out: Partial<TraceSummary> = rest;
  if (traceId !== head.id) out.traceId = traceId;
  if (!sameValue(eventCounts, facts.eventCounts)) out.eventCounts = eventCounts;
  if (!sameValue(fetches, facts.fetches)) out.fetches = fetches;
  return out;
}

/** The head's bytes: a compact map whose events are positional records. */
/** The head writer of this isolate, reused for every trace. */
const aadWriter = new ReusedWriter(4096, { compact: true });

/**
 * The sealed block's associated data: {@link AAD_PREFIX_V3}, then the head's bytes (a compact map
 * whose events are positional records), in one buffer; the head is its tail.
 */
function writeAad(
  head: Omit<TraceHead, "recipient" | "version">,
  recipient: DataKey["recipient"],
  signer: string | undefined,
): Uint8Array {
  return aadWriter.write((w) => {
    w.raw(AAD_PREFIX_V3);
    w.head(5, signer ? 8 : 7);
    w.key("id");
    w.string(head.id);
    if (signer) {
      w.key("signer");
      w.string(signer);
    }
    w.key("version");
    w.number(TRACE_VERSION_3);
    w.key("summary");
    w.value(headSummary(head));
    w.key("recipient");
    w.value(recipient);
    w.key("events");
    w.head(4, head.events.length);
    for (const e of head.events) writeEvent(w, e);
    w.key("masks");
    w.value([head.masks.headers.filter((h) => !V3_DEFAULT_MASKS.includes(h)), head.masks.fields]);
    w.key("stats");
    w.value(head.stats);
  });
}

/** Bytes of a text string of ASCII `s`, head included. */
const textSize = (s: string) => headLength(s.length) + s.length;

/** Parsed public keys by their JSON text: a recorder hands the same env string to every trace. */
const parsedKeys = new Map<string, PublicJwk>();

function publicKeyOf(publicKey: PublicJwk | string): PublicJwk {
  if (typeof publicKey !== "string") return publicKey;
  let jwk = parsedKeys.get(publicKey);
  if (!jwk) {
    jwk = parsePublicJwk(publicKey);
    if (parsedKeys.size >= 8) parsedKeys.clear();
    parsedKeys.set(publicKey, jwk);
  }
  return jwk;
}

/**
 * Seals a trace: the clear head (summary, events, the wrapped data key) and the payload list,
 * already encoded in the compact profile ({@link encodePayloadList}), encrypted with AES-256-GCM
 * under this isolate's data key, the head bytes as associated data; then, with a signer, the head
 * bytes and the sealed block are signed (the head names the signer, the signature follows as
 * `sig`). The file is written into one buffer of its exact size.
 */
export async function sealV3(
  head: Omit<TraceHead, "recipient" | "version" | "signer">,
  payloadBytes: Uint8Array,
  publicKey: PublicJwk | string,
  options: { now?: number; signer?: Signer | undefined } = {},
): Promise<Uint8Array> {
  const dataKey = await dataKeyFor(publicKeyOf(publicKey), options.now ?? Date.now());
  dataKey.uses++;
  const additionalData = writeAad(
    { ...head, stats: { ...head.stats, payloadBytes: payloadBytes.length } },
    dataKey.recipient,
    options.signer?.kid,
  );
  const headBytes = additionalData.subarray(AAD_PREFIX_V3.length);
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: nonce,
        additionalData: additionalData as BufferSource,
        tagLength: 128,
      },
      dataKey.key,
      payloadBytes as BufferSource,
    ),
  );
  const sig = options.signer
    ? await signTrace(options.signer, headBytes, [nonce, ciphertext])
    : undefined;
  const sealedLength = nonce.length + ciphertext.length;
  const size =
    1 +
    textSize("format") +
    textSize(TRACE_FORMAT) +
    textSize("version") +
    headLength(TRACE_VERSION_3) +
    textSize("head") +
    headLength(headBytes.length) +
    headBytes.length +
    textSize("sealed") +
    headLength(sealedLength) +
    sealedLength +
    (sig ? textSize("sig") + headLength(sig.length) + sig.length : 0);
  const w = new CborWriter(size);
  w.head(5, sig ? 5 : 4);
  w.string("format");
  w.string(TRACE_FORMAT);
  w.string("version");
  w.number(TRACE_VERSION_3);
  w.string("head");
  w.bytes(headBytes);
  w.string("sealed");
  w.head(2, sealedLength);
  w.raw(nonce);
  w.raw(ciphertext);
  if (sig) {
    w.string("sig");
    w.bytes(sig);
  }
  return w.take();
}

/** A payload list in the compact profile, as {@link sealV3} takes it. */
export function encodePayloadList(payloads: readonly unknown[]): Uint8Array {
  const w = new CborWriter(16 * 1024, { compact: true });
  w.value(payloads.map((p) => (p === undefined ? null : p)));
  return w.finish();
}

/** Forgets this isolate's data keys (tests). */
export function resetDataKeys(): void {
  dataKeys.clear();
}
