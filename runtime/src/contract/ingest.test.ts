/**
 * The ingest contract's body: what one side encodes the other decodes (CBOR and JSON), bad
 * items keep the trace id they name, a body that is not a batch is refused, and which statuses
 * are worth a retry.
 */
import { describe, expect, it } from "vitest";
import { decodeCbor, encodeCbor } from "../trace/_cbor.js";
import type { TraceSummary } from "../trace/schema.js";
import {
  decodeIngestBatch,
  decodeIngestRequest,
  encodeIngestBatch,
  INGEST_LIMITS,
  retryableStatus,
  type IngestItem,
} from "./ingest.js";
import { traceKey } from "./storage.js";

function item(n: number): IngestItem {
  const summary: TraceSummary = {
    traceId: n.toString(16).padStart(32, "0"),
    app: "shop",
    route: "/orders",
    method: "POST",
    status: 201,
    outcome: "ok",
    start: Date.UTC(2026, 0, 2) + n,
    durationMs: 1.5,
    eventCounts: { request: 1, response: 1 },
    fetches: [],
    truncated: false,
    runtime: "deno",
  };
  const bytes = Uint8Array.from({ length: 300 + n }, (_, i) => (i * 31 + n) & 0xff);
  return { key: traceKey(summary), bytes, summary };
}

/** The body as data, whichever encoding it is in. */
function asData(body: Uint8Array | string): unknown {
  return typeof body === "string" ? JSON.parse(body) : decodeCbor(body);
}

describe("ingest batches", () => {
  it.each(["cbor", "json"] as const)("decode what was encoded (%s)", (encoding) => {
    const items = [item(1), item(2), item(3)];
    const { body, contentType } = encodeIngestBatch(items, encoding);
    const raw = typeof body === "string" ? new TextEncoder().encode(body) : body;
    expect(decodeIngestBatch(raw, `${contentType}; charset=utf-8`)).toEqual(
      items.map((i) => ({ ok: true, item: i })),
    );
  });

  it("keeps the trace id a bad item names, so it can be answered", () => {
    const body = encodeCbor([
      { key: item(1).key, bytes: "not bytes", summary: item(1).summary },
      { summary: { traceId: "f".repeat(32) } },
      item(2),
    ]);
    expect(decodeIngestBatch(body, "application/cbor")).toEqual([
      { ok: false, traceId: item(1).summary.traceId, reason: "schema" },
      { ok: false, traceId: "f".repeat(32), reason: "schema" },
      { ok: true, item: item(2) },
    ]);
  });

  const enc = (v: unknown) => encodeCbor(v);
  const NOT_A_BATCH: [string, Uint8Array, string][] = [
    ["one trace, not a batch", enc({ format: "fluxrun/trace" }), "application/cbor"],
    ["an empty batch", enc([]), "application/cbor"],
    [
      "too many items",
      enc(Array.from({ length: INGEST_LIMITS.maxItems + 1 }, () => ({}))),
      "application/cbor",
    ],
    ["bytes that are not CBOR", new Uint8Array([0xff, 0xff, 0xff]), "application/cbor"],
    ["text that is not JSON", new TextEncoder().encode("[{"), "application/json"],
  ];
  it.each(NOT_A_BATCH)("refuses %s", (_name, body, type) => {
    expect(decodeIngestBatch(body, type)).toBeNull();
  });

  it.each(["cbor", "json"] as const)(
    "carries the sink's drops by reason in an envelope, only when any (%s)",
    (encoding) => {
      const items = [item(1)];
      const bytes = (b: Uint8Array | string) =>
        typeof b === "string" ? new TextEncoder().encode(b) : b;
      const bare = encodeIngestBatch(items, encoding, { dropped: { timeout: 0 } });
      expect(Array.isArray(asData(bare.body))).toBe(true);
      const env = encodeIngestBatch(items, encoding, { dropped: { timeout: 3, spool_full: 2 } });
      expect(decodeIngestRequest(bytes(env.body), env.contentType)).toEqual({
        entries: [{ ok: true, item: item(1) }],
        dropped: { timeout: 3, spool_full: 2 },
      });
      expect(decodeIngestBatch(bytes(env.body), env.contentType)).toEqual([
        { ok: true, item: item(1) },
      ]);
    },
  );

  it("never refuses traces over a bad drop count: the counts are left out", () => {
    for (const dropped of [{ timeout: -1 }, { nonsense: 4 }, "many", { overflow: 1.5 }]) {
      const body = encodeCbor({ items: [item(2)], dropped });
      expect(decodeIngestRequest(body, "application/cbor")).toEqual({
        entries: [{ ok: true, item: item(2) }],
        dropped: {},
      });
    }
  });

  it("retries 408, 429 and 5xx only", () => {
    const retried = [200, 202, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 599];
    expect(retried.filter(retryableStatus)).toEqual([408, 429, 500, 502, 503, 599]);
  });
});
