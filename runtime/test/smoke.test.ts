/**
 * Plain Miniflare (no vitest workers pool, which allows eval): decode and open a trace inside a
 * request, where workerd forbids code generation.
 */
import { expect, it } from "vitest";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../src/harness/bundle.js";
import { generateTraceKeys } from "../src/trace/keys.js";
import { sealTrace } from "../src/trace/seal.js";
import { FIXTURES } from "./_helpers.js";

it("decodes and opens a CBOR trace inside a request in workerd", async () => {
  const keys = await generateTraceKeys();
  const id = "ab".repeat(16);
  const bytes = await sealTrace(
    {
      head: {
        id,
        version: 1,
        summary: {
          traceId: id,
          app: "smoke",
          route: "/smoke",
          method: "GET",
          status: 200,
          outcome: "ok",
          start: 1,
          durationMs: 0,
          eventCounts: { request: 1 },
          fetches: [],
          truncated: false,
          runtime: "node",
        },
        events: [{ seq: 0, kind: "request", op: "GET", target: "/smoke", at: 0 }],
        masks: { headers: [], fields: [] },
        stats: { droppedEvents: 0, truncatedPayloads: 0, payloadBytes: 0 },
      },
      payloads: [{ method: "GET", url: "https://x/smoke", headers: [], body: null }],
    },
    keys.publicJwk,
  );
  const mf = new Miniflare({
    modules: [
      {
        type: "ESModule",
        path: "w.js",
        contents: await bundleWorker(`${FIXTURES}decode/index.ts`),
      },
    ],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    bindings: { KEY: JSON.stringify(keys.privateJwk) },
  });
  try {
    const res = await mf.dispatchFetch("http://x/", { method: "POST", body: bytes });
    expect(await res.json()).toEqual({ route: "/smoke", events: 1, payloads: 1 });
  } finally {
    await mf.dispose();
  }
});
