/**
 * The example shop API in real workerd: record every route against the local upstream, then
 * replay each trace from the root wrangler.toml with the network cut (the upstream must see zero
 * requests), and show the checkout bug diverging once fixed.
 */
import { nodeD1, nodeR2, withNodeBindings } from "../../runtime/test/_miniflare.js";
import { readFile, writeFile, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker } from "../../runtime/src/harness/bundle.js";
import { Replayer } from "../../runtime/src/harness/replay.js";
import { generateTraceKeys } from "../../runtime/src/trace/keys.js";
import { readTrace } from "../../runtime/src/trace/seal.js";
// @ts-expect-error -- plain ESM helper without types
import { startUpstream } from "../upstream/server.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const API_KEY = "example-test-payments-key";

interface Upstream {
  url: string;
  requests(): number;
  close(): Promise<void>;
}

let upstream: Upstream;
let mf: Miniflare;
const keys = await generateTraceKeys();
const traces = new Map<string, Uint8Array>();

async function call(method: string, path: string, body?: unknown) {
  const res = await mf.dispatchFetch(`http://shop.test${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  upstream = (await startUpstream({ port: 0 })) as Upstream;
  mf = new Miniflare(
    await withNodeBindings({
      modules: [
        {
          type: "ESModule",
          path: "worker.js",
          contents: await bundleWorker(join(ROOT, "worker/src/index.ts")),
        },
      ],
      compatibilityDate: "2026-04-20",
      compatibilityFlags: ["nodejs_compat"],
      bindings: {
        APP_NAME: "shop-api",
        UPSTREAM_URL: upstream.url,
        PAYMENTS_API_KEY: API_KEY,
        FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
      },
      kvNamespaces: ["CATALOG_CACHE"],
      d1Databases: ["DB"],
      r2Buckets: ["FLUX_TRACES"],
    }),
  );
  const db = nodeD1(mf, "DB");
  const sql = await readFile(join(ROOT, "worker/migrations/0001_init.sql"), "utf8");
  for (const stmt of sql
    .replace(/--.*$/gm, "")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean))
    await db.prepare(stmt).run();
});

afterAll(async () => {
  await mf?.dispose();
  await upstream?.close();
});

describe("recording the example", () => {
  it("serves every route and records one trace per request", async () => {
    expect(await call("GET", "/health")).toEqual({
      status: 200,
      body: { ok: true, app: "shop-api" },
    });
    expect((await call("GET", "/products/p-1")).body).toMatchObject({ id: "p-1", cache: "miss" });
    expect((await call("GET", "/products/p-1")).body).toMatchObject({ id: "p-1", cache: "hit" });
    expect((await call("GET", "/products/nope")).status).toBe(404);
    const order = await call("POST", "/orders", {
      items: [
        { productId: "p-1", qty: 2 },
        { productId: "p-2", qty: 1 },
      ],
      coupon: "WELCOME10",
    });
    expect(order).toMatchObject({ status: 201, body: { status: "paid", total_cents: 5301 } });
    expect((await call("GET", `/orders/${order.body.id as string}`)).body).toMatchObject({
      id: order.body.id,
      status: "paid",
    });
    expect((await call("POST", "/orders", { items: [] })).status).toBe(400);
    const bug = await mf.dispatchFetch("http://shop.test/orders", {
      method: "POST",
      body: JSON.stringify({ items: [{ productId: "p-404", qty: 1 }] }),
    });
    expect(bug.status).toBe(500);
    await bug.text();
    const bucket = nodeR2(mf, "FLUX_TRACES");
    for (let i = 0; i < 100 && traces.size < 8; i++) {
      // `include` is a real R2 option that @cloudflare/workers-types does not list.
      const list = await bucket.list({ include: ["customMetadata"] } as R2ListOptions);
      for (const o of list.objects) {
        if (traces.has(o.key)) continue;
        traces.set(o.key, new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer()));
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(traces.size).toBe(8);
    const outcomes = [...traces.values()]
      .map((b) => readTrace(b).head.summary)
      .map((s) => `${s.method} ${s.route} ${s.status} ${s.outcome}`);
    // Hono catches the TypeError, logs it and answers 500: outcome "error", class from the log.
    expect(outcomes).toContain("POST /orders 500 error");
    expect([...traces.values()].map((b) => readTrace(b).head.summary.errorClass)).toContain(
      "TypeError",
    );
    expect(outcomes).toContain("POST /orders 201 ok");
  });

  it("keeps the payments API key out of the clear trace", () => {
    for (const bytes of traces.values())
      expect(new TextDecoder("latin1").decode(bytes)).not.toContain(API_KEY);
  });
});

describe("replaying the example", () => {
  it("replays every recorded route to the same response with the upstream receiving nothing", async () => {
    const replayer = await Replayer.start({ config: join(ROOT, "wrangler.toml") });
    try {
      const before = upstream.requests();
      for (const bytes of traces.values()) {
        const report = await replayer.replay(bytes, keys.privateJwk);
        expect(report.divergences, `${report.method} ${report.route}`).toEqual([]);
        expect(report.replayed).toEqual(report.recorded);
      }
      expect(upstream.requests()).toBe(before);
    } finally {
      await replayer.dispose();
    }
  });

  it("shows the checkout bug's fix as a changed outcome, not a silent pass", async () => {
    const bug = [...traces.values()].find((b) => readTrace(b).head.summary.outcome === "error")!;
    const source = await readFile(join(ROOT, "worker/src/index.ts"), "utf8");
    // The fix from worker/README.md: answer 409 for a discontinued product before pricing it.
    const line =
      "    if (!product) return c.json({ error: `unknown product ${String(item.productId)}` }, 404);";
    const fixed = source.replace(
      line,
      `${line}\n    if (!product.price) return c.json({ error: "product discontinued" }, 409);`,
    );
    expect(fixed).not.toBe(source);
    const dir = await mkdtemp(join(ROOT, "worker/.tmp-fixed-"));
    await writeFile(join(dir, "index.ts"), fixed.replaceAll('from "./', 'from "../src/'));
    const replayer = await Replayer.start({
      config: join(ROOT, "wrangler.toml"),
      script: await bundleWorker(join(dir, "index.ts")),
    });
    try {
      const report = await replayer.replay(bug, keys.privateJwk);
      expect(report.verdict).toBe("diverged");
      expect(report.divergences[0]).toMatchObject({ code: "changed_outcome" });
    } finally {
      await replayer.dispose();
      const { rm } = await import("node:fs/promises");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
