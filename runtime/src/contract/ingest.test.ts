/**
 * The ingest contract's body: what one side encodes the other decodes (CBOR and JSON), bad
 * items keep the trace id they name, a body that is not a batch is refused, and which statuses
 * are worth a retry.
 */
import { describe, expect, it } from "vitest";
import { encodeCbor } from "../trace/_cbor.js";
import type { TraceSummary } from "../trace/schema.js";
import {
  decodeIngestBatch,
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

  it("retries 408, 429 and 5xx only", () => {
    const retried = [200, 202, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 599];
    expect(retried.filter(retryableStatus)).toEqual([408, 429, 500, 502, 503, 599]);
  });
});
