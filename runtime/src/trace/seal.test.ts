/**
 * Trace sealing: round trips, and a table of hostile inputs each refused with its own code.
 */
import { describe, expect, it } from "vitest";
import { isFluxError, type FluxErrorCode } from "../errors.js";
import { generateTraceKeys, parsePrivateJwk, parsePublicJwk } from "./keys.js";
import { openTrace, readTrace, sealTrace } from "./seal.js";
import { DEK_MAX_AGE_MS, encodePayloadList, sealV3 } from "./_writer.js";
import { decodeCbor, encodeCbor } from "./_cbor.js";
import { encode } from "./_encode.js";

/** A version 3 head's map, decoded and written back in its compact profile. */
const headMap = (bytes: Uint8Array) => decodeCbor(bytes, { compact: true });
const headBytes = (head: unknown) => encode(head, { compact: true });
import type { TraceHead } from "./schema.js";

const keys = await generateTraceKeys();
const other = await generateTraceKeys();

function head(events = 2): Omit<TraceHead, "recipient"> {
  return {
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
    events: Array.from({ length: events }, (_, seq) => ({
      seq,
      kind: seq ? "response" : "request",
      op: "GET",
      target: "/x",
      at: seq,
    })),
    masks: { headers: ["authorization"], fields: [] },
    stats: { droppedEvents: 0, truncatedPayloads: 0, payloadBytes: 0 },
  } as Omit<TraceHead, "recipient">;
}

const payloads = [
  {
    method: "GET",
    url: "https://a.test/x",
    headers: [["authorization", "Bearer top-secret"]],
    body: null,
  },
  { status: 200, statusText: "OK", headers: [], body: new TextEncoder().encode("secret body ✓") },
];

async function sealed(): Promise<Uint8Array> {
  return sealTrace({ head: head(), payloads }, keys.publicJwk);
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<FluxErrorCode | "none"> {
  try {
    await (typeof p === "function" ? p() : p);
    return "none";
  } catch (err) {
    if (!isFluxError(err)) throw err;
    expect(err.message).not.toContain("top-secret");
    return err.code;
  }
}

function mutate(bytes: Uint8Array, fn: (file: Record<string, unknown>) => void): Uint8Array {
  const file = decodeCbor(bytes) as Record<string, unknown>;
  fn(file);
  return encodeCbor(file);
}

describe("sealTrace / openTrace", () => {
  it("round-trips head and payloads, bytes included", async () => {
    const bytes = await sealed();
    const opened = await openTrace(bytes, keys.privateJwk);
    expect(opened.head.summary).toEqual(head().summary);
    expect(opened.head.recipient.kid).toBe(keys.kid);
    expect(new TextDecoder().decode((opened.payloads[1] as { body: Uint8Array }).body)).toBe(
      "secret body ✓",
    );
    expect(opened.payloads[0]).toEqual(payloads[0]);
  });

  it("leaves out of a version 3 head the summary facts its events give, and reads them back", async () => {
    const withFetch = head(3);
    withFetch.events[1] = {
      seq: 1,
      kind: "fetch",
      op: "POST",
      target: "api.test/pay",
      at: 1,
      status: 402,
    };
    withFetch.summary.eventCounts = { request: 1, fetch: 1, response: 1 };
    withFetch.summary.fetches = [{ host: "api.test", method: "POST", status: 402 }];
    const derived = await sealTrace(
      { head: withFetch, payloads: [null, null, null] },
      keys.publicJwk,
    );
    expect(readTrace(derived).head.summary).toEqual(withFetch.summary);
    const raw = decodeCbor((decodeCbor(derived) as { head: Uint8Array }).head, { compact: true });
    expect(Object.keys((raw as { summary: object }).summary)).not.toContain("fetches");
    expect(Object.keys((raw as { summary: object }).summary)).not.toContain("traceId");
    // Facts that do not follow from the events (a head written by other code) are kept as given.
    const odd = {
      ...withFetch,
      summary: { ...withFetch.summary, fetches: [], traceId: "f".repeat(32) },
    };
    const kept = await sealTrace({ head: odd, payloads: [null, null, null] }, keys.publicJwk);
    expect(readTrace(kept).head.summary).toEqual(odd.summary);
  });

  it("reads the clear head without a key and keeps payloads out of it", async () => {
    const bytes = await sealed();
    expect(readTrace(bytes).head.events).toHaveLength(2);
    const text = new TextDecoder("latin1").decode(bytes);
    expect(text).not.toContain("top-secret");
    expect(text).not.toContain("secret body");
  });

  it("seals an isolate's traces under one data key, each with a fresh nonce", async () => {
    const a = await sealed();
    const b = await sealTrace(
      { head: { ...head(), id: "f".repeat(32) }, payloads },
      keys.publicJwk,
    );
    expect(readTrace(a).head.version).toBe(3);
    expect(readTrace(a).head.recipient).toEqual(readTrace(b).head.recipient);
    const nonce = (bytes: Uint8Array) =>
      (decodeCbor(bytes) as { sealed: Uint8Array }).sealed.subarray(0, 12).join();
    expect(nonce(a)).not.toBe(nonce(b));
    // Opened traces still get keys of their own (redaction tokens never compare across traces).
    const ka = (await openTrace(a, keys.privateJwk)).dataKey;
    const kb = (await openTrace(b, keys.privateJwk)).dataKey;
    expect(ka).not.toEqual(kb);
  });

  it("replaces the data key when it is an hour old", async () => {
    const t0 = Date.now();
    const first = await sealV3(head(), encodePayloadList(payloads), keys.publicJwk, { now: t0 });
    const same = await sealV3(head(), encodePayloadList(payloads), keys.publicJwk, {
      now: t0 + 1000,
    });
    const later = await sealV3(head(), encodePayloadList(payloads), keys.publicJwk, {
      now: t0 + DEK_MAX_AGE_MS + 1,
    });
    const envelope = (b: Uint8Array) => readTrace(b).head.recipient;
    expect(envelope(same)).toEqual(envelope(first));
    expect(envelope(later)).not.toEqual(envelope(first));
    await expect(openTrace(later, keys.privateJwk)).resolves.toBeTruthy();
  });

  it("accepts keys as JWK JSON strings, as jose exportJWK writes them", async () => {
    const bytes = await sealTrace({ head: head(), payloads }, JSON.stringify(keys.publicJwk));
    await expect(openTrace(bytes, JSON.stringify(keys.privateJwk))).resolves.toBeTruthy();
  });
});

describe("hostile traces", () => {
  const table: [
    string,
    (b: Uint8Array) => Uint8Array | Promise<Uint8Array>,
    FluxErrorCode,
    "open" | "read",
  ][] = [
    ["empty input", () => new Uint8Array(), "ERR_TRACE_CORRUPT", "read"],
    [
      "random bytes",
      () => Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff),
      "ERR_TRACE_CORRUPT",
      "read",
    ],
    [
      "JSON instead of CBOR",
      () => new TextEncoder().encode('{"format":"fluxrun/trace"}'),
      "ERR_TRACE_CORRUPT",
      "read",
    ],
    ["another CBOR document", () => encodeCbor({ hello: "world" }), "ERR_TRACE_CORRUPT", "read"],
    ["truncated file", (b) => b.subarray(0, b.length - 20), "ERR_TRACE_TRUNCATED", "read"],
    ["half a file", (b) => b.subarray(0, b.length >> 1), "ERR_TRACE_TRUNCATED", "read"],
    ["unknown version", (b) => mutate(b, (f) => (f.version = 4)), "ERR_TRACE_VERSION", "read"],
    [
      "head not matching the schema",
      (b) => mutate(b, (f) => (f.head = encodeCbor({ id: "x" }))),
      "ERR_TRACE_SCHEMA",
      "read",
    ],
    [
      "head bytes not CBOR",
      (b) => mutate(b, (f) => (f.head = new Uint8Array([0xff, 0xff]))),
      "ERR_TRACE_CORRUPT",
      "read",
    ],
    [
      "summary edited (status 500 → 200)",
      (b) =>
        mutate(b, (f) => {
          const h = headMap(f.head as Uint8Array) as TraceHead;
          h.summary.status = 201;
          f.head = headBytes(h);
        }),
      "ERR_TRACE_TAMPERED",
      "open",
    ],
    [
      "event list edited",
      (b) =>
        mutate(b, (f) => {
          // Events are positional records: [kind, op, target, ...].
          const h = headMap(f.head as Uint8Array) as { events: unknown[][] };
          h.events[1]![2] = "/y";
          f.head = headBytes(h);
        }),
      "ERR_TRACE_TAMPERED",
      "open",
    ],
    [
      "sealed byte flipped",
      (b) =>
        mutate(b, (f) => {
          const s = Uint8Array.from(f.sealed as Uint8Array);
          s[s.length - 5]! ^= 1;
          f.sealed = s;
        }),
      "ERR_TRACE_TAMPERED",
      "open",
    ],
    [
      "sealed block cut short",
      (b) => mutate(b, (f) => (f.sealed = (f.sealed as Uint8Array).subarray(0, 10))),
      "ERR_TRACE_TAMPERED",
      "open",
    ],
    [
      "wrapped key replaced",
      (b) =>
        mutate(b, (f) => {
          // Version 3's recipient is [kid, epk, wrapped]: one bit of the wrapped key flipped.
          const h = headMap(f.head as Uint8Array) as {
            recipient: [string, Uint8Array, Uint8Array];
          };
          const wrapped = Uint8Array.from(h.recipient[2]);
          wrapped[3]! ^= 1;
          h.recipient[2] = wrapped;
          f.head = headBytes(h);
        }),
      "ERR_TRACE_TAMPERED",
      "open",
    ],
  ];

  it.each(table)("%s → %s", async (_name, make, expected, stage) => {
    const bytes = await make(await sealed());
    if (stage === "read") expect(await code(() => readTrace(bytes))).toBe(expected);
    expect(await code(openTrace(bytes, keys.privateJwk))).toBe(expected);
  });

  it("refuses the wrong key with ERR_TRACE_KEY", async () => {
    expect(await code(openTrace(await sealed(), other.privateJwk))).toBe("ERR_TRACE_KEY");
  });
});

describe("keys", () => {
  it("refuses a private key where the public key belongs", () => {
    expect(() => parsePublicJwk(JSON.stringify(keys.privateJwk))).toThrow(/holds a private key/);
  });
  const bad: [string, unknown][] = [
    ["not JSON", "{nope"],
    ["an RSA key", { kty: "RSA", n: "x", e: "AQAB" }],
    ["an Ed25519 key", { kty: "OKP", crv: "Ed25519", x: "abc" }],
    ["no x", { kty: "OKP", crv: "X25519" }],
    ["null", null],
  ];
  it.each(bad)("refuses %s with ERR_KEY_INVALID", async (_n, value) => {
    const input = (typeof value === "string" ? value : JSON.stringify(value)) as string;
    expect(await code(() => parsePublicJwk(input))).toBe("ERR_KEY_INVALID");
    expect(await code(() => parsePrivateJwk(input))).toBe("ERR_KEY_INVALID");
  });
  it("refuses a public key where the private key belongs", async () => {
    expect(await code(() => parsePrivateJwk(keys.publicJwk))).toBe("ERR_KEY_INVALID");
  });
});
