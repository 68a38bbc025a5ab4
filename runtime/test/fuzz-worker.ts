/**
 * The fuzz loop that `fuzz.test.ts` runs in a worker thread under a heap limit. It seals two real
 * traces, mutates them with a seeded PRNG (bit flips, byte inserts and deletes, length-field
 * rewrites, splices, cuts, inflated counts, nesting runs) at three depths: the file as stored,
 * the clear head inside an intact file (sometimes with a list swapped for many wrong items), and
 * the payload block re-sealed with the public key (what anyone holding it can send).
 * Each input goes to `readTrace` and `openTrace`; anything they throw that is not a FluxError is
 * a failure. Posts a {@link FuzzResult}.
 */
import { parentPort, workerData } from "node:worker_threads";
import { isFluxError } from "../src/errors.js";
import { decodeCbor, encodeCbor } from "../src/trace/_cbor.js";
import { generateTraceKeys } from "../src/trace/keys.js";
import { openTrace, readTrace, sealEncoded, sealTrace } from "../src/trace/seal.js";
import { encodePayloadList } from "../src/trace/_writer.js";
import type { TraceEvent, TraceHead } from "../src/trace/schema.js";

export interface FuzzResult {
  /** Calls made: two per input. */
  runs: number;
  /** How the calls ended: "ok" or a FluxError code, with counts. */
  codes: Record<string, number>;
  /** Inputs answered with something other than success or a FluxError. */
  failures: string[];
}

const { seed, count } = workerData as { seed: number; count: number };

/** mulberry32: small, seeded, the same sequence on every run. */
function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(seed);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

function headOf(events: TraceEvent[]): Omit<TraceHead, "recipient"> {
  return {
    id: "0123456789abcdef0123456789abcdef",
    version: 1,
    summary: {
      traceId: "0123456789abcdef0123456789abcdef",
      app: "fuzz",
      route: "/orders/:id",
      method: "POST",
      status: 201,
      outcome: "ok",
      start: 1_700_000_000_000,
      durationMs: 12.25,
      eventCounts: { request: 1, fetch: 1, response: 1 },
      fetches: [{ host: "api.example.com", method: "POST", status: 200 }],
      truncated: false,
      runtime: "workerd",
    },
    events,
    masks: { headers: ["authorization", "cookie"], fields: ["card"] },
    stats: { droppedEvents: 0, truncatedPayloads: 0, payloadBytes: 0 },
  };
}

const enc = new TextEncoder();
const small = {
  head: headOf([
    { seq: 0, kind: "request", op: "GET", target: "/x", at: 0 },
    { seq: 1, kind: "response", op: "200", target: "/x", at: 9, status: 200 },
  ]),
  payloads: [
    { method: "GET", url: "https://a.test/x", headers: [["cookie", "c=1"]], body: null },
    { status: 200, statusText: "OK", headers: [], body: enc.encode("hello") },
  ],
};
const rich = {
  head: headOf([
    { seq: 0, kind: "request", op: "POST", target: "/orders/1", at: 0, info: { size: 14 } },
    { seq: 1, kind: "env", op: "get", target: "API_KEY", at: 3 },
    { seq: 2, kind: "clock", op: "now", target: "Date.now", at: 4 },
    { seq: 3, kind: "random", op: "bytes", target: "getRandomValues(16)", at: 5 },
    {
      seq: 4,
      kind: "fetch",
      op: "POST",
      target: "api.example.com/charges",
      at: 6,
      dur: 9000,
      status: 200,
      write: true,
      info: { masked: ["authorization"], reqBytes: 15 },
    },
    { seq: 5, kind: "host", op: "call", target: "db.query", at: 9100, dur: 40, parent: 4 },
    { seq: 6, kind: "console", op: "log", target: "console", at: 9200 },
    { seq: 7, kind: "response", op: "201", target: "/orders/1", at: 9300, status: 201 },
  ]),
  payloads: [
    {
      method: "POST",
      url: "https://shop.test/orders/1",
      headers: [["content-type", "application/json"]],
      body: enc.encode('{"sku":"tee"}'),
    },
    "sk_test_fuzz",
    1_700_000_000_123.5,
    Uint8Array.from({ length: 16 }, (_, i) => i * 17),
    {
      request: {
        method: "POST",
        url: "https://api.example.com/charges",
        headers: [["authorization", "Bearer x"]],
        body: enc.encode('{"amount":2500}'),
      },
      result: { status: 200, statusText: "OK", headers: [], body: enc.encode('{"id":"ch_1"}') },
    },
    {
      args: [{ id: 1, tags: ["a", "é", "😀"], at: new Date(1_700_000_000_000) }],
      result: { rows: [{ n: -1.25, ok: true, none: null, big: 2 ** 40 }], meta: undefined },
    },
    ["hello", { nested: [[[1]]] }],
    { status: 201, statusText: "Created", headers: [], body: enc.encode('{"order":"o_1"}') },
  ],
};

const keys = await generateTraceKeys();
const corpus = await Promise.all(
  [small, rich].map(async (t) => {
    const file = await sealTrace(t, keys.publicJwk);
    const outer = decodeCbor(file) as { head: Uint8Array; sealed: Uint8Array };
    return {
      head: t.head,
      file,
      headBytes: Uint8Array.from(outer.head),
      sealed: Uint8Array.from(outer.sealed),
      // In the compact profile, as the recorder writes them: mutations reach keys and references.
      payloadBytes: encodePayloadList(t.payloads),
    };
  }),
);

const INTERESTING = [
  0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x5b, 0x5f, 0x7b, 0x7f, 0x80, 0x9b, 0x9f, 0xa0,
  0xbb, 0xbf, 0xc1, 0xd8, 0xd9, 0xdb, 0xf7, 0xf8, 0xfb, 0xff,
];

function insert(bytes: Uint8Array, at: number, extra: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes.subarray(0, at));
  out.set(extra, at);
  out.set(bytes.subarray(at), at + extra.length);
  return out;
}

const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));

const MUTATORS: Record<string, (b: Uint8Array) => Uint8Array> = {
  flip(b) {
    const out = Uint8Array.from(b);
    for (let k = 1 + int(4); k > 0 && out.length; k--) out[int(out.length)]! ^= 1 << int(8);
    return out;
  },
  interesting(b) {
    const out = Uint8Array.from(b);
    if (out.length) out[int(out.length)] = pick(INTERESTING);
    return out;
  },
  insert: (b) => insert(b, int(b.length + 1), randomBytes(1 + int(8))),
  delete(b) {
    const at = int(b.length + 1);
    return insert(b.subarray(0, at), at, b.subarray(at + 1 + int(8)));
  },
  /** Rewrites the argument of a string, array, map or tag head: a small or huge length. */
  length(b) {
    const heads: number[] = [];
    for (let i = 0; i < b.length; i++) if (b[i]! >> 5 >= 2 && b[i]! >> 5 <= 6) heads.push(i);
    if (!heads.length) return b;
    const at = pick(heads);
    const major = b[at]! >> 5;
    const info = pick([0, 1, 23, 24, 25, 26, 27, 31]);
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    const arg = Uint8Array.from({ length: size }, () => pick([0x00, 0x01, 0x7f, 0xff, int(256)]));
    const out = insert(b, at + 1, arg);
    out[at] = (major << 5) | info;
    return out;
  },
  /**
   * What the red team sent: an array or map head rewritten to declare many items, followed by
   * that many one-byte items (small integers, empty maps or arrays, nulls).
   */
  inflate(b) {
    const heads: number[] = [];
    for (let i = 0; i < b.length; i++) if (b[i]! >> 5 === 4 || b[i]! >> 5 === 5) heads.push(i);
    if (!heads.length) return b;
    const at = pick(heads);
    const n = pick([100, 5000, 70_000, 300_000, 1_100_000]);
    const declared = (b[at]! & 0xe0) | 26;
    // past 300 k the item limits refuse the head before reading on: no need for the bytes
    const filler = new Uint8Array(4 + Math.min(n, 300_000)).fill(pick([0x01, 0xa0, 0x80, 0xf6]));
    new DataView(filler.buffer).setUint32(0, n);
    const out = insert(b, at + 1, filler);
    out[at] = declared;
    return out;
  },
  /** A run of nesting heads: arrays of one, dates, shared-value tags, indefinite arrays. */
  nest(b) {
    const unit = pick([[0x81], [0xc1], [0xd8, 0x1c], [0x9f], [0xd8, 0x1d, 0x00]]);
    const times = pick([3, 70, 20_000]);
    const run = new Uint8Array(unit.length * times);
    for (let k = 0; k < times; k++) run.set(unit, k * unit.length);
    return insert(b, int(b.length + 1), run);
  },
  /** A slice of another corpus file put into this one. */
  splice(b) {
    const donor = pick(corpus).file;
    const from = int(donor.length);
    const piece = donor.subarray(from, from + 1 + int(64));
    return rand() < 0.5
      ? insert(b, int(b.length + 1), piece)
      : insert(piece, 0, b.subarray(0, int(b.length + 1)));
  },
  duplicate(b) {
    const from = int(b.length);
    return insert(b, int(b.length + 1), b.slice(from, from + 1 + int(32)));
  },
  cut: (b) => b.subarray(0, int(b.length)),
};
const NAMES = Object.keys(MUTATORS);

function mutate(bytes: Uint8Array): { bytes: Uint8Array; steps: string[] } {
  const steps: string[] = [];
  let out = bytes;
  for (let k = 1 + int(3); k > 0; k--) {
    const name = pick(NAMES);
    steps.push(name);
    out = MUTATORS[name]!(out);
  }
  return { bytes: out, steps };
}

const result: FuzzResult = { runs: 0, codes: {}, failures: [] };

async function answer(label: string, call: () => unknown): Promise<void> {
  result.runs++;
  let code = "ok";
  try {
    await call();
  } catch (err) {
    if (isFluxError(err)) code = err.code;
    else {
      code = "non-FluxError";
      const what = err instanceof Error ? `${err.name}: ${err.message.slice(0, 160)}` : String(err);
      if (result.failures.length < 20) result.failures.push(`${label}: ${what}`);
    }
  }
  result.codes[code] = (result.codes[code] ?? 0) + 1;
}

/** A clear head with one of its lists replaced by many wrong items: schema issues by the million. */
function junkLists(head: Omit<TraceHead, "recipient">): { bytes: Uint8Array; steps: string[] } {
  const n = pick([10, 1000, 150_000]);
  const junk = pick([{}, 0, "x", [], null]);
  const list = pick(["events", "fetches", "headers"] as const);
  const h = structuredClone({ ...head, recipient: { kid: "k", jwe: "j" } });
  const items = Array<unknown>(n).fill(junk);
  if (list === "events") (h as { events: unknown }).events = items;
  else if (list === "fetches") (h.summary as { fetches: unknown }).fetches = items;
  else (h.masks as { headers: unknown }).headers = items;
  return { bytes: encodeCbor(h), steps: [`${list}×${n}`] };
}

const TARGETS = [
  ...Array<"file">(7).fill("file"),
  ...Array<"head">(7).fill("head"),
  ...Array<"payloads">(5).fill("payloads"),
  "lists",
] as const;

for (let i = 0; i < count; i++) {
  const base = corpus[i % corpus.length]!;
  const target = pick(TARGETS);
  let bytes: Uint8Array;
  let steps: string[];
  if (target === "file") {
    ({ bytes, steps } = mutate(base.file));
  } else if (target === "head" || target === "lists") {
    const m = target === "head" ? mutate(base.headBytes) : junkLists(base.head);
    steps = m.steps;
    // A mutated head is read as the version it was written in (3, the compact profile); the
    // junk lists, plain CBOR, as version 1 or 3.
    const version = target === "head" ? 3 : pick([1, 3]);
    bytes = encodeCbor({ format: "fluxrun/trace", version, head: m.bytes, sealed: base.sealed });
  } else {
    const m = mutate(base.payloadBytes);
    steps = m.steps;
    bytes = await sealEncoded(base.head, m.bytes, keys.publicJwk);
  }
  const label = `#${i} ${target} ${steps.join("+")}`;
  await answer(`${label} readTrace`, () => readTrace(bytes));
  await answer(`${label} openTrace`, () => openTrace(bytes, keys.privateJwk));
}

parentPort!.postMessage(result);
