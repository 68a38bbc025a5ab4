/**
 * Hostile CBOR by hand, for the hostile-trace table and the CLI tests: small generators that
 * build each class of input the red team used.
 */
import { Encoder } from "cbor-x";
import { encodeCbor } from "../src/trace/_cbor.js";
import { TRACE_FORMAT } from "../src/trace/schema.js";

/**
 * CBOR as a general-purpose encoder writes it (cbor-x, test-only): BigInts, Sets and other values
 * outside the trace's data model, which FluxRun's own writer refuses to write.
 */
export function foreignCbor(value: unknown): Uint8Array {
  return Uint8Array.from(new Encoder({ useRecords: false, tagUint8Array: false }).encode(value));
}

/** A CBOR head (major type, argument) in its shortest form. */
export function cborHead(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x1_0000_0000)
    return Uint8Array.of(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const out = new Uint8Array(9);
  out[0] = m | 27;
  new DataView(out.buffer).setBigUint64(1, BigInt(n));
  return out;
}

export function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);

export function text(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  return cat(cborHead(3, b.length), b);
}

/** A trace file around `headBytes`, with a sealed block no row gets as far as. */
export const withHead = (headBytes: Uint8Array) =>
  encodeCbor({ format: TRACE_FORMAT, version: 1, head: headBytes, sealed: new Uint8Array(40) });

/** `map` with one more entry appended: a key it already has. */
export function repeatKey(map: Uint8Array, key: string, value: unknown): Uint8Array {
  const out = cat(map, text(key), encodeCbor(value));
  out[0]! += 1; // one more entry (the maps here have fewer than 23)
  return out;
}

/** [v0 … vn], each v(k) = 28([29(k-1), 29(k-1)]): a DAG that expands to 2^n nodes. */
export function sharedDag(levels: number): Uint8Array {
  const parts: Uint8Array[] = [cborHead(4, levels + 1), Uint8Array.of(0xd8, 28, 0x80)];
  for (let k = 1; k <= levels; k++) {
    const ref = cat([0xd8, 29], cborHead(0, k - 1));
    parts.push(cat([0xd8, 28, 0x82], ref, ref));
  }
  return cat(...parts);
}

/** cbor-x record extensions: what a `useRecords` encoder writes for a list of like objects. */
export const records = (value: unknown): Uint8Array =>
  Uint8Array.from(new Encoder({ useRecords: true }).encode(value));

const M = 1_000_000;

/** The red team's clear heads, as trace files: each must be refused before it costs memory. */
export const HOSTILE_HEADS = {
  millionsOfInts: () => withHead(cat(cborHead(4, 4 * M), fill(4 * M, 1))),
  millionsOfEmptyMaps: () => withHead(cat(cborHead(4, M), fill(M, 0xa0))),
  indefiniteArray: () => withHead(cat([0x9f], fill(8 * M, 1), [0xff])),
  sharedDag: () => withHead(sharedDag(48)),
};
