// The bench's variants (bench/variants/*.ts: bare, FluxRun, Sentry, OpenTelemetry) build as the
// bench builds them and answer the bare handler's response, in one real workerd. Their exporters
// point at a loopback collector that accepts and discards (it stands in for Sentry's and an OTLP
// endpoint, which cannot exist here). Figures are `npm run bench`'s business, not this test's.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerBuildOptions } from "fluxrun/harness";
import { generateTraceKeys } from "fluxrun/trace";
import { nodeKV, nodeR2, withNodeBindings, workerFetch } from "../runtime/test/_miniflare.js";

const HERE = new URL(".", import.meta.url).pathname;
const VARIANTS = ["bare", "flux-null", "flux-r2", "flux-unsampled", "sentry", "otel"];

let upstream: Server;
let collector: Server;
let mf: Miniflare;
let posts = 0;

const listen = async (s: Server) => {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  upstream = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ n: Number(req.url!.split("/").pop()), path: req.url }));
  });
  collector = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      posts++;
      res.end("{}");
    });
  });
  const [up, col] = [await listen(upstream), await listen(collector)];
  const keys = await generateTraceKeys();
  const scripts = await Promise.all(
    VARIANTS.map(async (name) => {
      const out = await build(
        workerBuildOptions(join(HERE, "variants", `${name}.ts`), {
          platform: "browser",
          nodePaths: [join(HERE, "..", "node_modules")],
        }),
      );
      return out.outputFiles[0]!.text;
    }),
  );
  mf = new Miniflare(
    await withNodeBindings({
      kvPersist: false,
      workers: VARIANTS.map((name, i) => ({
        name,
        modules: [{ type: "ESModule" as const, path: `${name}.js`, contents: scripts[i]! }],
        compatibilityDate: "2026-04-20",
        compatibilityFlags: ["nodejs_compat"],
        bindings: {
          UPSTREAM: `http://${up}`,
          FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
          SENTRY_DSN: `http://0123456789abcdef0123456789abcdef@${col}/1`,
          OTEL_URL: `http://${col}/v1/traces`,
        },
        kvNamespaces: { KV: "bench-kv" },
        d1Databases: { DB: "bench-db" },
        r2Buckets: { FLUX_TRACES: "bench-traces" },
      })),
    }),
  );
  await mf.ready;
  const kv = nodeKV(mf, "KV", "bare");
  await kv.put("config", JSON.stringify({ theme: "dark" }));
  await kv.put("flags", "a,b");
});

afterAll(async () => {
  await mf?.dispose();
  upstream?.close();
  collector?.close();
});

async function answer(name: string) {
  const res = await workerFetch(mf, name, "http://bench.test/?id=same");
  const body = (await res.json()) as Record<string, unknown>;
  const { id, at, ...stable } = body;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(typeof at).toBe("string");
  return { status: res.status, type: res.headers.get("content-type"), stable };
}

describe("bench variants", () => {
  it("each answers what the bare handler answers", async () => {
    const bare = await answer("bare");
    expect(bare.stable.parts).toHaveLength(5);
    expect(bare.stable.score).toEqual({ score: 35 });
    for (const name of VARIANTS.slice(1)) expect(await answer(name), name).toEqual(bare);
  });

  it("the recorders export: FluxRun to R2, the peers to the collector", async () => {
    await answer("flux-r2");
    await answer("sentry");
    await answer("otel");
    const bucket = nodeR2(mf, "FLUX_TRACES", "flux-r2");
    const deadline = Date.now() + 20_000;
    while ((await bucket.list()).objects.length === 0 || posts < 2) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await bucket.list()).objects.length).toBeGreaterThan(0);
    expect(posts).toBeGreaterThanOrEqual(2);
  });
});
