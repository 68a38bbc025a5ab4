/**
 * r2Sink's options (its behaviour against a hanging bucket runs in workerd: test/sinks.test.ts),
 * and what it reports when every put fails rather than hangs. The bucket here is a stand-in
 * object: R2 cannot fail on demand outside Cloudflare's network.
 */
import { describe, expect, it } from "vitest";
import { isFluxError } from "../errors.js";
import { r2Sink, type R2SinkOptions } from "./r2.js";
import { traceKey, type SealedTrace } from "./_sink.js";
import type { TraceSummary } from "../trace/schema.js";

const summary: TraceSummary = {
  traceId: "0".repeat(32),
  app: "shop",
  route: "/orders",
  method: "POST",
  status: 201,
  outcome: "ok",
  start: Date.UTC(2026, 0, 2),
  durationMs: 1,
  eventCounts: {},
  fetches: [],
  truncated: false,
  runtime: "workers",
};
const trace: SealedTrace = { key: traceKey(summary), bytes: new Uint8Array([1]), summary };

describe("r2Sink", () => {
  it.each<[string, R2SinkOptions]>([
    ["timeoutMs 0", { timeoutMs: 0 }],
    ["fractional retries", { retries: 1.5 }],
    ["negative backoff", { backoffMs: -1 }],
  ])("refuses %s", (_name, options) => {
    expect(() => r2Sink({} as R2Bucket, options)).toThrow(RangeError);
  });

  it("retries a failing put, then gives the trace up as `unreachable`, naming no payload", async () => {
    let puts = 0;
    const failing = {
      put: () => {
        puts++;
        return Promise.reject(new Error("internal error with secret-payload"));
      },
    } as unknown as R2Bucket;
    const sleeps: number[] = [];
    const sink = r2Sink(failing, {
      retries: 2,
      backoffMs: 10,
      sleep: async (ms) => void sleeps.push(ms),
    });
    const err = await sink.write(trace).then(
      () => null,
      (e: Error & { dropReason?: string }) => e,
    );
    expect(isFluxError(err) && err.code).toBe("ERR_SINK_WRITE");
    expect(err?.dropReason).toBe("unreachable");
    expect(err?.message).not.toContain("secret-payload");
    expect(puts).toBe(3);
    expect(sleeps).toEqual([10, 20]);
    expect(sink.stats()).toEqual({
      stored: 0,
      retries: 2,
      timeouts: 0,
      dropped: { unreachable: 1 },
    });
  });
});
