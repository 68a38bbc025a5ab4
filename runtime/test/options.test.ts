/**
 * withFlux options and failure isolation in real workerd: a failing sink never touches the
 * response, sampling keeps every error, the size budget marks what it cuts, masks are listed.
 */
import { describe, expect, it } from "vitest";
import type { Readable } from "node:stream";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../src/harness/bundle.js";
import { generateTraceKeys } from "../src/trace/keys.js";
import { readTrace } from "../src/trace/seal.js";
import { FIXTURES } from "./_helpers.js";

const keys = await generateTraceKeys();

async function start(define: Record<string, string> = {}, flags = ["nodejs_compat"]) {
  const script = await bundleWorker(`${FIXTURES}options/index.ts`, { define });
  const logs: string[] = [];
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "w.js", contents: script }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: flags,
    bindings: { FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk) },
    kvNamespaces: ["KV"],
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.on("data", (d: Buffer) => logs.push(d.toString()));
      stderr.on("data", (d: Buffer) => logs.push(d.toString()));
    },
  });
  const get = async (path: string, init?: RequestInit) => {
    const res = await mf.dispatchFetch(`http://o.test${path}`, init as never);
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  type Stats = {
    stats: {
      recorded: number;
      stored: number;
      sampledOut: number;
      failed: number;
      lastErrorCode: string | null;
    };
    stored: { route: string; outcome: string; truncated: boolean }[];
  };
  /** The recorder's counters once `n` app executions have been stored, sampled out or lost. */
  const stats = async (n: number): Promise<Stats> => {
    for (let i = 0; i < 500; i++) {
      const s = JSON.parse((await get("/_stats")).text) as Stats;
      if (s.stats.stored + s.stats.sampledOut + s.stats.failed >= n) return s;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${n} executions did not finish recording`);
  };
  return { mf, get, stats, logs };
}

describe("a failing sink", () => {
  it("leaves the response untouched, counts the loss and logs one line without payloads", async () => {
    const w = await start({ __BROKEN_SINK__: "true" });
    try {
      const res = await w.get("/hello", { method: "POST", body: "secret-body-text" });
      expect(res).toMatchObject({ status: 200, text: "small" });
      expect(res.headers.get("x-session-token")).toBe("abc");
      const s = await w.stats(1);
      expect(s.stats.failed).toBeGreaterThanOrEqual(1);
      expect(s.stats.lastErrorCode).toBe("ERR_SINK_WRITE");
      const log = w.logs.join("");
      expect(log).toMatch(/\[fluxrun\] ERR_SINK_WRITE: Could not store the trace/);
      expect(log).not.toContain("secret-body-text");
    } finally {
      await w.mf.dispose();
    }
  });
});

describe("a worker without nodejs_compat", () => {
  it("starts, and its first request fails with one line naming the flag to add", async () => {
    const w = await start({}, []);
    try {
      const res = await w.get("/hello");
      expect(res.status).toBe(500);
      for (let i = 0; i < 100 && !w.logs.join("").includes("ERR_CONFIG"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const lines = w.logs
        .join("")
        .split("\n")
        .filter((l) => l.includes("[fluxrun]"));
      expect(lines).toEqual([
        '[fluxrun] ERR_CONFIG: withFlux needs AsyncLocalStorage: add compatibility_flags = ["nodejs_compat"] (or "nodejs_als") to your wrangler config',
      ]);
    } finally {
      await w.mf.dispose();
    }
  });
});

describe("sampling", () => {
  it("with sample 0 drops ok executions and keeps every error", async () => {
    const w = await start({ __SAMPLE__: "0" });
    try {
      for (let i = 0; i < 5; i++) await w.get("/ok");
      await w.get("/fail");
      const s = await w.stats(6);
      expect(s.stored.map((x) => [x.route, x.outcome])).toEqual([["/fail", "error"]]);
      expect(s.stats.sampledOut).toBeGreaterThanOrEqual(5);
    } finally {
      await w.mf.dispose();
    }
  });

  it("draws the sample at the start: an execution left out captures no call sites, yet a failure is kept whole", async () => {
    const sites = async (define: Record<string, string>) => {
      const w = await start(define);
      try {
        await w.get("/fail-kv");
        await w.stats(1);
        const res = await w.mf.dispatchFetch("http://o.test/_trace?route=/fail-kv");
        const { head } = readTrace(new Uint8Array(await res.arrayBuffer()));
        const kv = head.events.find((e) => e.kind === "binding" && e.target === "KV");
        expect(kv, "the KV read is recorded either way").toBeDefined();
        return kv!.site;
      } finally {
        await w.mf.dispose();
      }
    };
    expect(await sites({ __SAMPLE__: "0" })).toBeUndefined();
    const kept = await sites({});
    expect(kept?.[0]?.[1]).toMatch(/w\.js$/);
  });

  it("refuses a sample rate outside 0..1", async () => {
    const { withFlux } = await import("../src/adapter/workers.js");
    expect(() => withFlux({ fetch: () => new Response() }, { sample: 2 })).toThrow(RangeError);
  });
});

describe("size budget", () => {
  it("cuts a body over the limit to size and digest and marks the trace truncated", async () => {
    const w = await start();
    try {
      const res = await w.get("/big?big=5000");
      expect(res.text).toHaveLength(5000);
      const s = await w.stats(1);
      expect(s.stored.at(-1)).toMatchObject({ route: "/big", truncated: true });
    } finally {
      await w.mf.dispose();
    }
  });

  it("applies the body limit to binding values too (a KV value over it)", async () => {
    const w = await start();
    try {
      expect((await w.get("/kv?big=5000")).text).toBe("5000");
      const s = await w.stats(1);
      expect(s.stored.find((x) => x.route === "/kv")).toMatchObject({ truncated: true });
      const bytes = new Uint8Array(
        await (await w.mf.dispatchFetch("http://o.test/_trace?route=/kv")).arrayBuffer(),
      );
      const { head } = readTrace(bytes);
      // The put's value is kept as size and digest, which replay still compares; the get's
      // result is cut, so replay cannot serve it and the event says so.
      const ops = head.events.filter((e) => e.kind === "binding").map((e) => [e.op, !!e.truncated]);
      expect(ops).toEqual([
        ["put", false],
        ["get", true],
      ]);
    } finally {
      await w.mf.dispose();
    }
  });
});
