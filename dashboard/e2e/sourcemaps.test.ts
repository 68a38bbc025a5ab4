/**
 * Source maps, release, cf-ray and top-frame issues in a real browser (Debian chromium, headless,
 * playwright-core) against the real dashboard worker and a withFlux worker in Miniflare. The
 * worker (e2e/fixture/orders) is bundled here with an external source map, as `wrangler deploy
 * --outdir dist --upload-source-maps` writes one, and runs as two releases (r1, r2). A responder
 * uploads r1's map through the Source maps page; r1's failure then reads `src/orders.ts:<line>`
 * with the bundle position on hover, r2's shows the no-map state; search finds an execution by
 * its cf-ray; the two throwing functions form two issues. The real agent replays r1's failure
 * through the repaired build (release `fix`, its map uploaded through the API): the report names
 * the extra call's site in source with the map of the release the replaying build named.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import type { Browser, Page } from "playwright-core";
import { exportJWK, generateKeyPair } from "jose";
import { bundleWorker, workerBuildOptions } from "fluxrun/harness";
import { generateTraceKeys } from "fluxrun/trace";
import { migrate } from "../test/_helpers.js";
import { nodeD1, nodeR2, withNodeBindings, workerFetch } from "../../runtime/test/_miniflare.js";
import {
  AGENT_ID,
  DEV_TOKEN,
  freePort,
  devDashboard,
  startAgent,
  assertChromium,
  launchBrowser,
} from "./_stack.js";

const SHOTS = process.env.FLUX_E2E_SCREENSHOTS ?? "/tmp/fluxrun-e2e";
const HERE = new URL(".", import.meta.url).pathname;
const RAY = "8f1e2d3c4b5a6978-SJC";

let mf: Miniflare;
let agentMf: Miniflare;
let live = 0;
let dashboard: string;
let bucket: R2Bucket;
let browser: Browser;
let page: Page;
/** The deployed bundle's map (wrangler's --outdir output), and the line `priceOf` throws on. */
let map: string;
let priceLine: number;
/** The repaired build's map, and the line of its prices-service fetch. */
let fixedMap: string;
let fetchLine: number;
let taxLine: number;

/** The orders worker as wrangler would deploy it: one bundle, its source map beside it. */
async function deployBundle(
  define: Record<string, string> = {},
): Promise<{ script: string; map: string }> {
  const out = await build(
    workerBuildOptions(join(HERE, "fixture/orders/src/index.ts"), {
      outfile: join(HERE, "fixture/orders/dist/index.js"),
      sourcemap: "external" as const,
      sourcesContent: false,
      keepNames: true,
      define,
    }),
  );
  const file = (suffix: string) => out.outputFiles.find((f) => f.path.endsWith(suffix))!.text;
  return { script: file("index.js"), map: file("index.js.map") };
}

async function record(worker: string, path: string): Promise<void> {
  try {
    const res = await workerFetch(mf, worker, `http://orders.test${path}`, {
      headers: path.includes("o-1") ? { "cf-ray": RAY } : {},
    });
    await res.arrayBuffer();
  } catch {
    // The handler threw: the trace is what matters here.
  }
}

beforeAll(async () => {
  assertChromium();
  mkdirSync(SHOTS, { recursive: true });
  const keys = await generateTraceKeys();
  const signing = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const [dashScript, deployed, repaired, agentScript] = await Promise.all([
    bundleWorker(join(HERE, "../src/index.ts")),
    deployBundle(),
    deployBundle({ __FIXED__: "true" }),
    bundleWorker(join(HERE, "../../agent/src/index.ts")),
  ]);
  map = deployed.map;
  fixedMap = repaired.map;
  const source = readFileSync(join(HERE, "fixture/orders/src/orders.ts"), "utf8").split("\n");
  priceLine = source.findIndex((l) => l.includes("order.price!.amount * 100")) + 1;
  fetchLine = source.findIndex((l) => l.includes("await fetch(")) + 1;
  taxLine = source.findIndex((l) => l.includes("order.price!.amount * rate")) + 1;
  const agentPort = await freePort();
  const release = (name: string, FLUX_RELEASE: string) => ({
    name,
    modules: [{ type: "ESModule" as const, path: "index.js", contents: deployed.script }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
    bindings: { FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk), FLUX_RELEASE },
  });
  const r2Persist = await mkdtemp(join(tmpdir(), "fluxrun-e2e-maps-"));
  mf = new Miniflare(
    await withNodeBindings({
      host: "127.0.0.1",
      port: 0,
      r2Persist,
      workers: [
        devDashboard(dashScript, {
          agentOrigin: `http://127.0.0.1:${agentPort}`,
          signingKey: JSON.stringify(await exportJWK(signing.privateKey)),
        }),
        release("orders-r1", "r1"),
        release("orders-r2", "r2"),
      ],
    }),
  );
  dashboard = (await mf.ready).toString().replace(/\/$/, "");
  await migrate(nodeD1(mf, "DB", "dashboard"));
  bucket = nodeR2(mf, "FLUX_TRACES", "dashboard");
  // The real agent, replaying through the repaired build; the network it tries is refused.
  agentMf = await startAgent({
    port: agentPort,
    allowedOrigin: dashboard,
    jwks: await (await fetch(`${dashboard}/.well-known/jwks.json`)).text(),
    privateJwk: keys.privateJwk,
    r2Persist,
    agentScript,
    fixedScript: repaired.script,
    paymentsUrl: "http://127.0.0.1:9",
    onLive: () => live++,
    appRelease: "fix",
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await agentMf?.dispose();
  await mf?.dispose();
});

/** The page's width past the viewport (0: nothing scrolls sideways). */
function overflow(): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
}

describe("source maps in the dashboard", () => {
  it("records failures of two releases and indexes them", async () => {
    await record("orders-r1", "/orders/o-1");
    await record("orders-r1", "/orders/o-2?part=tax");
    await record("orders-r2", "/orders/o-3");
    for (let i = 0; i < 400; i++) {
      if ((await bucket.list({ prefix: "traces/" })).objects.length >= 3) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await page.goto(`${dashboard}/dev/login?token=${DEV_TOKEN}`);
    await page.goto(`${dashboard}/w/default/admin`);
    await page.click("#reindex");
    await page.waitForSelector("text=Reindexed from R2");
    await page.goto(`${dashboard}/w/default/executions`);
    expect(await page.locator("#executions tbody tr").count()).toBe(3);
  });

  it("forms two issues from the two throwing functions", async () => {
    await page.goto(`${dashboard}/w/default/issues`);
    const rows = page.locator("#issues tbody tr");
    expect(await rows.count()).toBe(2);
    const texts = await rows.allTextContents();
    expect(texts.every((t) => t.includes("TypeError") && t.includes("/orders/:id"))).toBe(true);
    const frames = (await page.locator("[data-top-frame]").allTextContents()).join(" ");
    expect(frames).toContain("priceOf");
    expect(frames).toContain("taxOf");
    const counts = await rows
      .locator("[data-count]")
      .evaluateAll((n) => n.map((x) => x.getAttribute("data-count")).sort());
    expect(counts).toEqual(["1", "2"]);
  });

  it("finds an execution by its cf-ray", async () => {
    await page.goto(`${dashboard}/w/default/executions`);
    await page.fill("input[name=q]", RAY);
    await page.click("#filters button[type=submit]");
    await page.waitForURL(/q=8f1e/);
    const rows = page.locator("#executions tbody tr");
    expect(await rows.count()).toBe(1);
    await rows.first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
    expect(await page.textContent("#cf-ray")).toBe(RAY);
    expect(await page.textContent("#release")).toBe("r1");
    expect(await page.textContent("#cpu")).toContain("not recorded");
  });

  it("shows the no-map state before any map is uploaded", async () => {
    const frames = page.locator("#error-frames");
    expect(await frames.textContent()).toContain("priceOf");
    expect(await frames.locator('[data-sourcemap="none"]').textContent()).toContain(
      "No source map for release r1",
    );
    expect(await frames.textContent()).toMatch(/index\.js:\d+:\d+/);
  });

  it("uploads r1's map through the Source maps page", async () => {
    await page.click('#error-frames a[href$="/sourcemaps"]');
    await page.waitForURL(/\/w\/default\/sourcemaps$/);
    expect(await page.locator("#no-maps").isVisible()).toBe(true);
    await page.selectOption("#upload select[name=app]", "orders");
    await page.fill("#upload input[name=release]", "r1");
    await page.setInputFiles("#upload input[name=map]", {
      name: "index.js.map",
      mimeType: "application/json",
      buffer: Buffer.from(map),
    });
    await page.click("#upload button[type=submit]");
    await page.waitForSelector("#upload-done");
    const row = page.locator('#maps tr[data-release="r1"]');
    expect(await row.textContent()).toContain("index.js");
    expect(await overflow()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/sourcemaps.png`, fullPage: true });
  });

  it("refuses a file that is not a source map, saying why", async () => {
    await page.selectOption("#upload select[name=app]", "orders");
    await page.fill("#upload input[name=release]", "r1");
    await page.setInputFiles("#upload input[name=map]", {
      name: "index.js.map",
      mimeType: "application/json",
      buffer: Buffer.from("export default { fetch() {} }"),
    });
    await page.click("#upload button[type=submit]");
    await page.waitForSelector('[data-code="ERR_SOURCE_MAP_INVALID"]');
    // The map uploaded before stays.
    expect(await page.locator('#maps tr[data-release="r1"]').count()).toBe(1);
  });

  it("maps r1's error view and waterfall to source, the bundle position on hover", async () => {
    await page.goto(`${dashboard}/w/default/executions?q=${encodeURIComponent(RAY)}`);
    await page.locator("#executions tbody tr").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
    const frames = page.locator("#error-frames");
    await frames.locator('[data-sourcemap="mapped"]').waitFor();
    const top = frames.locator("li[data-mapped] .src").first();
    expect(await top.textContent()).toBe(`src/orders.ts:${priceLine}`);
    expect(await top.getAttribute("title")).toMatch(/^bundle: .*index\.js:\d+:\d+$/);
    expect(await frames.locator("li[data-mapped] b").first().textContent()).toBe("priceOf");
    const site = page.locator('#waterfall tr[data-kind="exception"] .site');
    expect(await site.textContent()).toContain(`src/orders.ts:${priceLine}`);
    expect(await overflow()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/execution-mapped.png`, fullPage: true });
  });

  it("shows each issue's top frame in source where its latest release has a map", async () => {
    await page.goto(`${dashboard}/w/default/issues`);
    // taxOf's latest failure ran r1 (mapped); priceOf's ran r2, which has no map.
    const mapped = page.locator('[data-top-frame="mapped"]');
    expect(await mapped.count()).toBe(1);
    expect(await mapped.textContent()).toBe(`at src/orders.ts:${taxLine} taxOf`);
    expect(await mapped.getAttribute("title")).toMatch(/^bundle: taxOf \(.*index\.js:\d+:\d+\)$/);
    expect(await page.locator('[data-top-frame="bundle"]').textContent()).toMatch(
      /^at priceOf \(.*index\.js:\d+:\d+\)$/,
    );
  });

  it("shows the no-map state for a release without a map", async () => {
    await page.goto(`${dashboard}/w/default/executions?q=${encodeURIComponent("release:r2")}`);
    const rows = page.locator("#executions tbody tr");
    expect(await rows.count()).toBe(1);
    await rows.first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
    expect(await page.textContent("#release")).toBe("r2");
    const none = page.locator('#error-frames [data-sourcemap="none"]');
    expect(await none.textContent()).toContain("No source map for release r2");
    expect(await page.locator("#error-frames li[data-mapped]").count()).toBe(0);
  });
  it("names the replayed extra call's site in source, with the replayed build's map", async () => {
    const upload = await fetch(
      `${dashboard}/api/sourcemaps?app=orders&release=fix&bundle=index.js`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${DEV_TOKEN}`, "content-type": "application/json" },
        body: fixedMap,
      },
    );
    expect(upload.status).toBe(201);
    await page.goto(`${dashboard}/w/default/executions?q=${encodeURIComponent(RAY)}`);
    await page.locator("#executions tbody tr").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
    await page.click("#replay-btn");
    await page.waitForSelector("#verdict", { timeout: 60_000 });
    expect(await page.getAttribute("#verdict", "data-verdict")).toBe("diverged");
    const line = page.locator('#report tr[data-code="extra_call"] [data-site="replayed"]');
    expect(await line.getAttribute("title")).toMatch(/^bundle: app\.js:\d+:\d+/);
    // The replaying build said it is release `fix`: its map is used without asking.
    expect(await page.inputValue("#replay-release")).toBe("fix");
    expect(await page.textContent('#replay-release option[value="fix"]')).toBe(
      "fix (the replayed build)",
    );
    await page.waitForFunction(
      (expected) =>
        document
          .querySelector('#report tr[data-code="extra_call"] [data-site="replayed"]')
          ?.textContent?.startsWith(expected),
      `extra_call at src/orders.ts:${fetchLine} priceOf`,
    );
    expect(live).toBe(0);
    await page.screenshot({ path: `${SHOTS}/replay-sites.png`, fullPage: true });
  });
});
