/**
 * The clear facts a summary carries for search and grouping, recorded in real workerd: the
 * release (FLUX_RELEASE, else a version metadata binding), the request's cf-ray and colo, and the
 * top frame of the failure — where the error was thrown, for an error Hono catches and logs as
 * well as for one thrown out of the handler. The R2 metadata carries them too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTrace } from "../src/trace/seal.js";
import type { TraceSummary } from "../src/trace/schema.js";
import { readSummaryMetadata } from "../src/contract/summary.js";
import { startRecorder, type Recorder } from "./_helpers.js";

let withRelease: Recorder;
let withMetadata: Recorder;

beforeAll(async () => {
  withRelease = await startRecorder("facts/index.ts", { FLUX_RELEASE: "v2026.11.30" });
  // Miniflare has no version metadata binding: a JSON binding of the same shape stands in.
  withMetadata = await startRecorder(
    "facts/index.ts",
    {},
    { bindings: { CF_VERSION_METADATA: { id: "5b7d4e2f-ver", tag: "", timestamp: "" } } },
  );
});

afterAll(async () => {
  await withRelease?.dispose();
  await withMetadata?.dispose();
});

async function summaries(r: Recorder, n: number): Promise<TraceSummary[]> {
  const stored = await r.traces(n);
  return stored.map(({ bytes, meta }) => {
    const summary = readTrace(bytes).head.summary;
    // The index's view from R2 metadata alone holds the same facts.
    expect(readSummaryMetadata(meta)).toMatchObject({
      release: summary.release,
      ...(summary.cfRay ? { cfRay: summary.cfRay } : {}),
      ...(summary.colo ? { colo: summary.colo } : {}),
      ...(summary.topFrame ? { topFrame: summary.topFrame } : {}),
    });
    return summary;
  });
}

describe("summary facts", () => {
  it("records release, cf-ray, colo and where a caught-and-logged error was thrown", async () => {
    const res = await withRelease.fetch("/price/p-1", {
      headers: { "cf-ray": "8f0c1d2e3f4a5b6c-LHR" },
      cf: { colo: "LHR" },
    } as RequestInit);
    expect(res.status).toBe(500);
    await res.text();
    const [s] = await summaries(withRelease, 1);
    expect(s).toMatchObject({
      route: "/price/p-1",
      outcome: "error",
      errorClass: "TypeError",
      release: "v2026.11.30",
      cfRay: "8f0c1d2e3f4a5b6c-LHR",
      colo: "LHR",
    });
    // The frame that threw, not the logger's line inside Hono.
    expect(s!.topFrame).toMatch(/^priceOf \(.*worker\.js:\d+:\d+\)$/);
  });

  it("takes the release from a version metadata binding, and the frame of an uncaught throw", async () => {
    await withMetadata.fetch("/raw").then((r) => r.text());
    await withMetadata.fetch("/ok").then((r) => r.text());
    const all = await summaries(withMetadata, 2);
    const raw = all.find((s) => s.route === "/raw")!;
    const ok = all.find((s) => s.route === "/ok")!;
    expect(raw).toMatchObject({ outcome: "exception", errorClass: "RangeError" });
    expect(raw.release).toBe("5b7d4e2f-ver");
    expect(raw.topFrame).toMatch(/^explode \(.*worker\.js:\d+:\d+\)$/);
    // No cf-ray header, no colo, no failure: none of those facts.
    expect(ok.release).toBe("5b7d4e2f-ver");
    expect(ok).not.toHaveProperty("topFrame");
    expect(ok).not.toHaveProperty("cfRay");
    expect(ok.outcome).toBe("ok");
  });
});
