/**
 * Hostile traces, one row per class the red team used: each is built here by a small generator
 * and must be refused with its own FluxError code, promptly, by `readTrace` (the clear head, read
 * before any authentication) and `openTrace` (payloads sealed with the public key alone).
 */
import { describe, expect, it } from "vitest";
import { isFluxError, type FluxErrorCode } from "../src/errors.js";
import { encodeCbor } from "../src/trace/_cbor.js";
import { generateTraceKeys } from "../src/trace/keys.js";
import { openTrace, readTrace, sealEncoded, sealTrace } from "../src/trace/seal.js";
import { TRACE_FORMAT, type TraceHead } from "../src/trace/schema.js";
import {
  cat,
  cborHead,
  fill,
  HOSTILE_HEADS,
  records,
  repeatKey,
  sharedDag,
  text,
  withHead,
  foreignCbor,
} from "./_hostile.js";

const keys = await generateTraceKeys();
const SECRET = "top-secret-value";

const head: Omit<TraceHead, "recipient"> = {
  id: "0123456789abcdef0123456789abcdef",
  version: 1,
  summary: {
    traceId: "0123456789abcdef0123456789abcdef",
    app: "t",
    route: "/x",
    method: "GET",
    status: 200,
    outcome: "ok",
    start: 1_700_000_000_000,
    durationMs: 1.5,
    eventCounts: { request: 1, response: 1 },
    fetches: [],
    truncated: false,
    runtime: "node",
  },
  events: [
    { seq: 0, kind: "request", op: "GET", target: "/x", at: 0 },
    { seq: 1, kind: "response", op: "200", target: "/x", at: 5, info: { masked: ["cookie"] } },
  ],
  masks: { headers: ["cookie"], fields: [] },
  stats: { droppedEvents: 0, truncatedPayloads: 0, payloadBytes: 0 },
};
const payloads = [
  { method: "GET", url: "https://a.test/x", headers: [["cookie", SECRET]], body: null },
  { status: 200, statusText: "OK", headers: [], body: new TextEncoder().encode(SECRET) },
];
const real = await sealTrace({ head, payloads }, keys.publicJwk);
const realHead = encodeCbor({ ...head, recipient: { kid: "k", jwe: "a.b.c.d.e" } });

const withPayloads = (payloadBytes: Uint8Array) => sealEncoded(head, payloadBytes, keys.publicJwk);

// --- The table -----------------------------------------------------------------------------------

type Row = [name: string, build: () => Uint8Array | Promise<Uint8Array>, code: FluxErrorCode];

const M = 1_000_000;

/** Classes aimed at the clear head: refused by readTrace and by openTrace alike. */
const clearHead: Row[] = [
  ["a head declaring 4 M small integers", HOSTILE_HEADS.millionsOfInts, "ERR_TRACE_LIMIT"],
  [
    "a head declaring 4 M integers in 20 bytes",
    () => withHead(cat(cborHead(4, 4 * M), fill(15, 1))),
    "ERR_TRACE_LIMIT",
  ],
  [
    "a head declaring 300 k integers in 20 bytes",
    () => withHead(cat(cborHead(4, 300_000), fill(15, 1))),
    "ERR_TRACE_TRUNCATED",
  ],
  ["a head of 1 M empty maps", HOSTILE_HEADS.millionsOfEmptyMaps, "ERR_TRACE_LIMIT"],
  [
    "a head whose event list is 300 k empty maps (a million schema issues)",
    () =>
      withHead(
        encodeCbor({ ...head, recipient: { kid: "k", jwe: "j" }, events: Array(300_000).fill({}) }),
      ),
    "ERR_TRACE_SCHEMA",
  ],
  ["an indefinite array of 8 M integers", HOSTILE_HEADS.indefiniteArray, "ERR_TRACE_CORRUPT"],
  ["an indefinite map", () => withHead(cat([0xbf], text("id"), [0x00, 0xff])), "ERR_TRACE_CORRUPT"],
  ["a shared-reference DAG of 2^24 nodes", () => withHead(sharedDag(24)), "ERR_TRACE_CORRUPT"],
  ["a shared-reference DAG of 2^48 nodes", HOSTILE_HEADS.sharedDag, "ERR_TRACE_CORRUPT"],
  [
    "cbor-x record extensions",
    () => withHead(records({ ...head, events: head.events })),
    "ERR_TRACE_CORRUPT",
  ],
  ["nesting 100 k deep", () => withHead(cat(fill(100_000, 0x81), [0])), "ERR_TRACE_LIMIT"],
  ["nesting 100 k dates deep", () => withHead(cat(fill(100_000, 0xc1), [0])), "ERR_TRACE_LIMIT"],
  [
    "a byte string declaring 4 GiB",
    () => withHead(cat(cborHead(2, 2 ** 32), [1, 2, 3])),
    "ERR_TRACE_LIMIT",
  ],
  [
    "a text string declaring 2^53 - 1 bytes",
    () => withHead(cat(cborHead(3, Number.MAX_SAFE_INTEGER), [0x61])),
    "ERR_TRACE_LIMIT",
  ],
  [
    "a text string longer than a head allows",
    () => withHead(encodeCbor({ ...head, id: "x".repeat(70_000) })),
    "ERR_TRACE_LIMIT",
  ],
  [
    "a sealed block declaring 4 GiB",
    () =>
      cat(
        [0xa4],
        text("format"),
        text(TRACE_FORMAT),
        text("version"),
        [1],
        text("head"),
        cborHead(2, realHead.length),
        realHead,
        text("sealed"),
        cborHead(2, 2 ** 32),
      ),
    "ERR_TRACE_LIMIT",
  ],
  [
    "a file map declaring 1 M entries",
    () => cat(cborHead(5, M), text("format"), text(TRACE_FORMAT)),
    "ERR_TRACE_LIMIT",
  ],
  [
    "invalid UTF-8 in a head string",
    () => withHead(cat([0xa1], text("id"), [0x62, 0xc3, 0x28])),
    "ERR_TRACE_CORRUPT",
  ],
  [
    "an overlong UTF-8 sequence",
    () => withHead(cat([0xa1], text("id"), [0x62, 0xc0, 0xaf])),
    "ERR_TRACE_CORRUPT",
  ],
  [
    "a repeated head key (summary given twice)",
    () => withHead(repeatKey(realHead, "summary", { ...head.summary, status: 500 })),
    "ERR_TRACE_CORRUPT",
  ],
  [
    "a repeated file key (head given twice)",
    () => repeatKey(real, "head", realHead),
    "ERR_TRACE_CORRUPT",
  ],
  ["an integer map key", () => withHead(cat([0xa1, 0x01, 0x02])), "ERR_TRACE_CORRUPT"],
  [
    "an integer past 2^53 - 1",
    () => withHead(foreignCbor({ ...head, stats: { ...head.stats, droppedEvents: 2n ** 60n } })),
    "ERR_TRACE_CORRUPT",
  ],
  [
    "a Set (tag 258)",
    () => withHead(foreignCbor({ ...head, masks: new Set(["a"]) })),
    "ERR_TRACE_CORRUPT",
  ],
  ["a simple value", () => withHead(cat([0xa1], text("id"), [0xf0])), "ERR_TRACE_CORRUPT"],
  ["bytes after the head", () => withHead(cat(realHead, [0])), "ERR_TRACE_CORRUPT"],
  ["a break code on its own", () => withHead(Uint8Array.of(0xff)), "ERR_TRACE_CORRUPT"],
  ["an empty head", () => withHead(new Uint8Array()), "ERR_TRACE_TRUNCATED"],
  ["a head that is a number", () => withHead(encodeCbor(7)), "ERR_TRACE_SCHEMA"],
  [
    "an event list that is a string",
    () => withHead(encodeCbor({ ...head, events: "none" })),
    "ERR_TRACE_SCHEMA",
  ],
  [
    "a status that is a string",
    () => withHead(encodeCbor({ ...head, summary: { ...head.summary, status: "200" } })),
    "ERR_TRACE_SCHEMA",
  ],
  [
    "a head given as text",
    () => encodeCbor({ format: TRACE_FORMAT, version: 1, head: "{}", sealed: new Uint8Array(40) }),
    "ERR_TRACE_SCHEMA",
  ],
  [
    "a version given as text",
    () =>
      encodeCbor({
        format: TRACE_FORMAT,
        version: "1".repeat(5000),
        head: realHead,
        sealed: new Uint8Array(40),
      }),
    "ERR_TRACE_VERSION",
  ],
];

/** Classes aimed at the payload block: the head reads, openTrace refuses. */
const sealedPayloads: Row[] = [
  [
    "payloads declaring 2 M small integers",
    () => withPayloads(cat(cborHead(4, 2 * M), fill(2 * M, 1))),
    "ERR_TRACE_LIMIT",
  ],
  [
    "payloads of 2 M empty maps",
    () => withPayloads(cat(cborHead(4, 2 * M), fill(2 * M, 0xa0))),
    "ERR_TRACE_LIMIT",
  ],
  [
    "payloads declaring 8 M items in 10 bytes",
    () => withPayloads(cat(cborHead(4, 8 * M), fill(5, 1))),
    "ERR_TRACE_LIMIT",
  ],
  [
    "payloads as an indefinite array of 8 M integers",
    () => withPayloads(cat([0x9f], fill(8 * M, 1), [0xff])),
    "ERR_TRACE_CORRUPT",
  ],
  [
    "payloads from a shared-reference DAG of 2^48 nodes",
    () => withPayloads(sharedDag(48)),
    "ERR_TRACE_CORRUPT",
  ],
  ["payloads in cbor-x records", () => withPayloads(records(payloads)), "ERR_TRACE_CORRUPT"],
  [
    "payloads nesting 100 k deep",
    () => withPayloads(cat(fill(100_000, 0x81), [0])),
    "ERR_TRACE_LIMIT",
  ],
  [
    "payloads cut short before sealing",
    () => withPayloads(encodeCbor(payloads).subarray(0, 30)),
    "ERR_TRACE_TRUNCATED",
  ],
  [
    "payloads with a repeated key",
    () => withPayloads(cat([0x82, 0xa2], text("a"), [0], text("a"), [1], [0xf6])),
    "ERR_TRACE_CORRUPT",
  ],
  [
    "payloads with invalid UTF-8",
    () => withPayloads(cat([0x82, 0x62, 0xc3, 0x28, 0xf6])),
    "ERR_TRACE_CORRUPT",
  ],
  [
    "payloads that are not a list",
    () => withPayloads(encodeCbor({ 0: null, 1: null })),
    "ERR_TRACE_SCHEMA",
  ],
  ["fewer payloads than events", () => withPayloads(encodeCbor([null])), "ERR_TRACE_SCHEMA"],
];

/** Rows as [name, code, build], so that test titles read "name → code". */
const titled = (rows: Row[]) => rows.map(([name, build, code]) => [name, code, build] as const);

async function outcome(run: () => unknown): Promise<FluxErrorCode | "none"> {
  try {
    await run();
    return "none";
  } catch (err) {
    // Anything but a FluxError fails the test here, with its own stack.
    if (!isFluxError(err)) throw err;
    expect(err.message).not.toContain(SECRET);
    expect(err.message.length).toBeLessThan(400);
    return err.code;
  }
}

describe("hostile clear heads", () => {
  it.each(titled(clearHead))("%s → %s", async (_name, code, build) => {
    const bytes = await build();
    expect(await outcome(() => readTrace(bytes))).toBe(code);
    expect(await outcome(() => openTrace(bytes, keys.privateJwk))).toBe(code);
  });

  it("reads a real trace cut at every offset as corrupt (too short to tell) or truncated", async () => {
    const codes = new Set<string>();
    for (let n = 0; n < real.length; n++) {
      const code = await outcome(() => readTrace(real.subarray(0, n)));
      expect(code, `cut at ${n}`).toBe(n < 8 ? "ERR_TRACE_CORRUPT" : "ERR_TRACE_TRUNCATED");
      codes.add(code);
    }
    expect(codes.size).toBe(2);
  });

  it("never lets a __proto__ key reach a prototype", async () => {
    const polluting = cat(realHead, text("__proto__"), encodeCbor({ polluted: true }));
    polluting[0]! += 1;
    const { head: read } = readTrace(withHead(polluting));
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect((read as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe("hostile sealed payloads", () => {
  it.each(titled(sealedPayloads))("%s → %s", async (_name, code, build) => {
    const bytes = await build();
    expect(await outcome(() => readTrace(bytes))).toBe("none");
    expect(await outcome(() => openTrace(bytes, keys.privateJwk))).toBe(code);
  });

  it("still opens the real trace", async () => {
    const opened = await openTrace(real, keys.privateJwk);
    expect(opened.payloads).toEqual(payloads);
  });
});
