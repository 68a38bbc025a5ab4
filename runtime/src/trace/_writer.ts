/**
 * The trace writer (format version 2), as a recorder runs it: Web Crypto and FluxRun's own CBOR
 * writer only, no schema library, decoder or jose in its import graph.
 *
 * One key agreement per isolate: a data-encryption key (AES-256-GCM) is made once and wrapped to
 * the customer's public key as a JWE, and each trace is sealed under it with a fresh 96-bit nonce,
 * its head naming the key (kid) and carrying the wrapped key. The key is replaced after
 * {@link DEK_MAX_USES} traces or {@link DEK_MAX_AGE_MS}, well inside AES-GCM's bound for random
 * nonces. Events are positional records with integer-coded kinds:
 * `[kind, op, target, at, dur, end, status, flags, parent, error, info, site]`, trailing absent fields
 * left out, flags `1` write and `2` truncated.
 * @module
 */
import { CborWriter } from "./_encode.js";
import { wrapKey } from "./_jwe.js";
import { keyId, parsePublicJwk, type PublicJwk } from "./_jwk.js";
import { signTrace, type Signer } from "./_sign.js";
import { EVENT_KINDS, TRACE_FORMAT } from "./_kinds.js";
import type { TraceEvent, TraceHead } from "./schema.js";

/** The format version this writer writes. */
export const TRACE_VERSION_2 = 2;
/** Traces sealed under one data key before a new one is made. */
export const DEK_MAX_USES = 1 << 20;
/** Age after which a data key is replaced, in milliseconds. */
export const DEK_MAX_AGE_MS = 60 * 60 * 1000;

const enc = new TextEncoder();
/** Associated data of the sealed block: this prefix, then the exact head bytes. */
export const AAD_PREFIX_V2 = enc.encode(`${TRACE_FORMAT}\0v${TRACE_VERSION_2}\0`);

const KIND_CODES = new Map<string, number>(EVENT_KINDS.map((k, i) => [k, i]));

interface DataKey {
  key: CryptoKey;
  recipient: { kid: string; jwe: string };
  uses: number;
  created: number;
}

const dataKeys = new Map<string, Promise<DataKey>>();

async function makeDataKey(jwk: PublicJwk, now: number): Promise<DataKey> {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const kid = await keyId(jwk);
  const jwe = await wrapKey(raw, { x: jwk.x, kid });
  const key = await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
  ]);
  raw.fill(0);
  return { key, recipient: { kid, jwe }, uses: 0, created: now };
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

/** The head's bytes: a map whose events are positional records. */
function writeHead(
  head: Omit<TraceHead, "recipient">,
  recipient: DataKey["recipient"],
  signer: string | undefined,
): Uint8Array {
  const w = new CborWriter(2048 + head.events.length * 48);
  w.head(5, signer ? 8 : 7);
  w.string("id");
  w.string(head.id);
  if (signer) {
    w.string("signer");
    w.string(signer);
  }
  w.string("version");
  w.number(TRACE_VERSION_2);
  w.string("summary");
  w.value(head.summary);
  w.string("recipient");
  w.value(recipient);
  w.string("events");
  w.head(4, head.events.length);
  for (const e of head.events) writeEvent(w, e);
  w.string("masks");
  w.value(head.masks);
  w.string("stats");
  w.value(head.stats);
  return w.finish();
}

/**
 * Seals a trace: the clear head (summary, events, the wrapped data key) and the payload list,
 * already encoded, encrypted with AES-256-GCM under this isolate's data key, the head bytes as
 * associated data; then, with a signer, the head bytes and the sealed block are signed (the head
 * names the signer, the signature follows as `sig`).
 */
export async function sealV2(
  head: Omit<TraceHead, "recipient" | "version" | "signer">,
  payloadBytes: Uint8Array,
  publicKey: PublicJwk | string,
  options: { now?: number; signer?: Signer | undefined } = {},
): Promise<Uint8Array> {
  const jwk = typeof publicKey === "string" ? parsePublicJwk(publicKey) : publicKey;
  const dataKey = await dataKeyFor(jwk, options.now ?? Date.now());
  dataKey.uses++;
  const headBytes = writeHead(
    {
      ...head,
      version: TRACE_VERSION_2 as never,
      stats: { ...head.stats, payloadBytes: payloadBytes.length },
    },
    dataKey.recipient,
    options.signer?.kid,
  );
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const additionalData = new Uint8Array(AAD_PREFIX_V2.length + headBytes.length);
  additionalData.set(AAD_PREFIX_V2);
  additionalData.set(headBytes, AAD_PREFIX_V2.length);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData, tagLength: 128 },
      dataKey.key,
      payloadBytes as BufferSource,
    ),
  );
  const sig = options.signer
    ? await signTrace(options.signer, headBytes, [nonce, ciphertext])
    : undefined;
  const w = new CborWriter(headBytes.length + nonce.length + ciphertext.length + 128);
  w.head(5, sig ? 5 : 4);
  w.string("format");
  w.string(TRACE_FORMAT);
  w.string("version");
  w.number(TRACE_VERSION_2);
  w.string("head");
  w.bytes(headBytes);
  w.string("sealed");
  w.head(2, nonce.length + ciphertext.length);
  w.raw(nonce);
  w.raw(ciphertext);
  if (sig) {
    w.string("sig");
    w.bytes(sig);
  }
  return w.finish();
}

/** Forgets this isolate's data keys (tests). */
export function resetDataKeys(): void {
  dataKeys.clear();
}
