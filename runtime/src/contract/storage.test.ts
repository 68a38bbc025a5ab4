/**
 * The storage contract: key layout round trips and orders by time (properties over seeded random
 * inputs), hostile keys are refused, and the summary metadata survives R2 both ways within R2's
 * 2 KiB, with old objects' missing fields defaulted and hostile metadata refused.
 */
import { describe, expect, it } from "vitest";
import { TRACE_VERSION, type TraceSummary } from "../trace/schema.js";
import {
  appPrefix,
  appSegment,
  keyBefore,
  parseTraceKey,
  summaryMetadata,
  traceKey,
  tracePrefix,
} from "./storage.js";
import * as z from "zod/mini";
import { indexedSummary, readSummaryMetadata, SummaryMetadata } from "./summary.js";

/** A small seeded PRNG (mulberry32): the same cases every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const APPS = [
  "shop-api",
  "shop api",
  "a.b_c-d",
  "ünïcode/app",
  "x".repeat(128),
  "app:v2",
  "..",
  "",
];
const Y2000 = Date.UTC(2000, 0, 1);
const Y2099 = Date.UTC(2099, 11, 31);

function traceIdAt(start: number, random: () => number): string {
  let id = start.toString(16).padStart(12, "0");
  while (id.length < 32) id += Math.floor(random() * 16).toString(16);
  return id;
}

function cases(n: number, seed = 7): { app: string; start: number; traceId: string }[] {
  const random = prng(seed);
  return Array.from({ length: n }, () => {
    const start = Math.floor(Y2000 + random() * (Y2099 - Y2000));
    return {
      app: APPS[Math.floor(random() * APPS.length)]!,
      start,
      traceId: traceIdAt(start, random),
    };
  });
}

function summary(over: Partial<TraceSummary> = {}): TraceSummary {
  return {
    traceId: "0194d2f3a1b2" + "c".repeat(20),
    app: "shop-api",
    route: "/orders/:id",
    method: "POST",
    status: 502,
    outcome: "error",
    start: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    durationMs: 12.3456,
    eventCounts: { request: 1, fetch: 2, response: 1 },
    fetches: [
      { host: "api.stripe.com", method: "POST", status: 402 },
      { host: "api.stripe.com", method: "GET" },
      { host: "inventory.internal", method: "GET", status: 200 },
    ],
    errorClass: "TypeError",
    truncated: true,
    runtime: "workerd",
    ...over,
  };
}

describe("trace keys", () => {
  it("round-trip through parseTraceKey", () => {
    for (const c of cases(500)) {
      const key = traceKey(c);
      expect(key.startsWith(appPrefix(c.app))).toBe(true);
      expect(parseTraceKey(key)).toEqual({ ...c, app: appSegment(c.app) });
    }
  });

  it("sort by start time within an app, and keyBefore(t) falls between earlier and later traces", () => {
    const all = cases(400, 11).map((c) => ({ ...c, app: "shop-api" }));
    const byKey = [...all].sort((a, b) => (traceKey(a) < traceKey(b) ? -1 : 1));
    const byTime = [...all].sort((a, b) => a.start - b.start || (a.traceId < b.traceId ? -1 : 1));
    expect(byKey).toEqual(byTime);
    for (const c of all.slice(0, 50)) {
      for (const other of all.slice(50, 100)) {
        const before = keyBefore("shop-api", c.start);
        if (other.start >= c.start) expect(traceKey(other) > before).toBe(true);
        else expect(traceKey(other) < before).toBe(true);
      }
    }
  });

  it("name the hour a trace is in from its app and id alone", () => {
    for (const c of cases(200, 3))
      expect(traceKey(c).startsWith(tracePrefix(c.app, c.traceId))).toBe(true);
  });

  const ID = "0194d2f3a1b2" + "c".repeat(20);
  const HOSTILE = [
    "",
    "traces/",
    `traces/shop/2026-01-02/03/030405006-${ID}`,
    `traces/shop/2026-01-02/04/030405006-${ID}.cbor`,
    `traces/shop/2026-13-02/03/030405006-${ID}.cbor`,
    `traces/../2026-01-02/03/030405006-${ID}.cbor`,
    `traces/sh/op/2026-01-02/03/030405006-${ID}.cbor`,
    `traces/shop/2026-01-02/03/030405006-${ID.toUpperCase()}.cbor`,
    `traces/shop/2026-01-02/03/030405006-${ID}0.cbor`,
    `/traces/shop/2026-01-02/03/030405006-${ID}.cbor`,
    `traces/${"x".repeat(129)}/2026-01-02/03/030405006-${ID}.cbor`,
  ];
  it.each(HOSTILE)("refuses the key %j", (key) => {
    expect(parseTraceKey(key)).toBeNull();
  });
});

describe("summary metadata", () => {
  it("is string values only, under R2's 2 KiB, and reads back as the index's view of the summary", () => {
    const big = summary({
      route: "/r".repeat(2000),
      errorClass: "E".repeat(5000),
      fetches: Array.from({ length: 300 }, (_, i) => ({
        host: `h${i}.example.com`,
        method: "GET",
      })),
    });
    const rpc = summary({ handler: "rpc", entry: "Counter" });
    for (const s of [summary(), big, rpc, summary({ errorClass: undefined, truncated: false })]) {
      const meta = summaryMetadata(s);
      for (const v of Object.values(meta)) expect(typeof v).toBe("string");
      const size = Object.entries(meta).reduce((n, [k, v]) => n + k.length + v.length, 0);
      expect(size).toBeLessThanOrEqual(2048);
      expect(readSummaryMetadata(meta)).toEqual(indexedSummary(s));
    }
    expect(readSummaryMetadata(summaryMetadata(rpc))).toMatchObject({
      handler: "rpc",
      entry: "Counter",
    });
  });

  it("is written field for field as the SummaryMetadata codec encodes it, and refused where the codec refuses", () => {
    const codec = (s: TraceSummary) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(z.encode(SummaryMetadata, indexedSummary(s))))
        if (typeof v === "string") out[k] = v;
      return out;
    };
    const table: Partial<TraceSummary>[] = [
      {},
      { route: "/r".repeat(600), method: "M".repeat(40), errorClass: "E".repeat(300) },
      { handler: "rpc", entry: "C".repeat(300), runtime: "r".repeat(80) },
      { errorClass: undefined, truncated: false, durationMs: 0, eventCounts: {} },
      { durationMs: 1 / 3, status: -1, fetches: [] },
      { app: "x".repeat(128), start: 0 },
      { app: "" },
      { app: "x".repeat(129) },
      { durationMs: -1 },
      { durationMs: Number.NaN },
      { durationMs: 1e20 },
      { status: 1.5 },
      { traceId: "nope" },
      { outcome: "weird" as TraceSummary["outcome"] },
      { handler: "weird" as TraceSummary["handler"] },
      {
        release: "v42",
        cfRay: "8f0c1d2e3f4a5b6c-LHR",
        colo: "LHR",
        topFrame: "priceOf (index.js:7:9)",
      },
      {
        release: "r".repeat(90),
        cfRay: "c".repeat(90),
        colo: "X".repeat(20),
        topFrame: "f".repeat(300),
      },
    ];
    for (const over of table) {
      const s = summary(over);
      let expected: Record<string, string> | "refused";
      try {
        expected = codec(s);
      } catch {
        expected = "refused";
      }
      if (expected === "refused")
        expect(() => summaryMetadata(s), JSON.stringify(over)).toThrow(RangeError);
      else {
        expect(summaryMetadata(s), JSON.stringify(over)).toEqual(expected);
        expect(Object.keys(summaryMetadata(s))).toEqual(Object.keys(expected));
      }
    }
  });

  it("adds release, cf-ray, colo and the top frame only while they fit R2's 2 KiB", () => {
    const facts = {
      release: "3f2a9c1e-5b7d-4e2f-9a1b-0c8d7e6f5a4b",
      cfRay: "8f0c1d2e3f4a5b6c-LHR",
      colo: "LHR",
      topFrame: `priceOf (${"src/".repeat(40)}index.js:11997:42)`,
    };
    const roomy = summaryMetadata(summary(facts));
    expect(readSummaryMetadata(roomy)).toMatchObject(facts);
    const full = summary({
      ...facts,
      route: "/r".repeat(300),
      errorClass: "E".repeat(300),
      entry: "C".repeat(300),
      method: "M".repeat(32),
      runtime: "r".repeat(64),
      fetches: Array.from({ length: 60 }, (_, i) => ({ host: `h${i}.example.com`, method: "GET" })),
    });
    const meta = summaryMetadata(full);
    const size = Object.entries(meta).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(size).toBeLessThanOrEqual(2048);
    // The short facts still fit; the long frame does not, and nothing else was cut for it.
    expect(meta).toMatchObject({ release: facts.release, cfRay: facts.cfRay, colo: "LHR" });
    expect(meta.topFrame).toBeUndefined();
    expect(meta.errorClass).toBe("E".repeat(256));
    expect(readSummaryMetadata(meta)).toMatchObject({ release: facts.release, colo: "LHR" });
  });

  it("projects the summary: events summed, hosts distinct, durations to the microsecond", () => {
    expect(indexedSummary(summary())).toEqual({
      traceId: summary().traceId,
      app: "shop-api",
      route: "/orders/:id",
      method: "POST",
      status: 502,
      outcome: "error",
      start: summary().start,
      durationMs: 12.346,
      events: 4,
      hosts: "api.stripe.com,inventory.internal",
      errorClass: "TypeError",
      truncated: true,
      runtime: "workerd",
      version: String(TRACE_VERSION),
    });
  });

  it("reads keys in any case, as R2's S3 API answers them", () => {
    const lower = Object.fromEntries(
      Object.entries(summaryMetadata(summary())).map(([k, v]) => [k.toLowerCase(), v]),
    );
    expect(readSummaryMetadata(lower)).toEqual(indexedSummary(summary()));
  });

  it("defaults the fields older objects lack", () => {
    const {
      truncated: _t,
      runtime: _r,
      version: _v,
      hosts: _h,
      ...old
    } = summaryMetadata(summary());
    expect(readSummaryMetadata(old)).toMatchObject({
      truncated: false,
      runtime: "",
      version: "",
      hosts: "",
    });
    expect(readSummaryMetadata({ ...old, truncated: "true" })?.truncated).toBe(true);
  });

  const good = summaryMetadata(summary());
  const HOSTILE: [string, Record<string, string> | undefined][] = [
    ["nothing", undefined],
    ["another object's metadata", { owner: "someone" }],
    ["a bad trace id", { ...good, traceId: "../../x" }],
    ["a status that is not a number", { ...good, status: "5xx" }],
    ["an unknown outcome", { ...good, outcome: "maybe" }],
    ["a negative duration", { ...good, durationMs: "-1" }],
    ["an exponent", { ...good, start: "1e21" }],
    ["an oversized route", { ...good, route: "/".repeat(513) }],
    ["an odd truncated flag", { ...good, truncated: "yes" }],
    ["an unknown handler kind", { ...good, handler: "websocket" }],
  ];
  it.each(HOSTILE)("reads %s as not a FluxRun summary", (_name, meta) => {
    expect(readSummaryMetadata(meta)).toBeNull();
  });
});
