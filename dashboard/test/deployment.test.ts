/**
 * The summary's deployment facts in real D1/R2 (Miniflare): release, cf-ray, colo and the top
 * frame indexed from R2 metadata by the sweep; searched as free text and as `release:`, `colo:`
 * and `ray:` terms; shown on the execution page; and the top frame in the issue fingerprint
 * (two frames, two issues; one function on two lines, one issue; executions without a frame keep
 * the fingerprint issues had before frames were recorded).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { sweep } from "../src/indexer/sweep.js";
import { storeRows } from "../src/indexer/store.js";
import { listExecutions, searchTerms, type ExecutionRow } from "../src/db/executions.js";
import { issuesOf, issueTrends } from "../src/db/issues.js";
import { frameKey } from "../src/db/fingerprint.js";
import { parseFrame } from "../src/sourcemaps/mapper.js";
import type { Env } from "../src/env.js";
import {
  bearer,
  frozenClock,
  hexId,
  makeEnv,
  putTrace,
  seed,
  startStorage,
  T0,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

let t: TestEnv;
let env: Env;
let s: Seeded;
const clock = frozenClock();
const app = createApp({ clock });

const RAY = "8f1e2d3c4b5a6978-SJC";

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t);
  const fail = {
    app: "shop-api",
    status: 500,
    outcome: "exception",
    errorClass: "TypeError",
  } as const;
  await putTrace(t.bucket, {
    ...fail,
    id: hexId(1),
    route: "/orders/:id",
    start: T0 - 50_000,
    site: [["priceOf", "index.js", 120, 7]],
    summary: { release: "v42", cfRay: RAY, colo: "SJC", topFrame: "priceOf (index.js:120:7)" },
  });
  await putTrace(t.bucket, {
    ...fail,
    id: hexId(2),
    route: "/orders/:id",
    start: T0 - 40_000,
    summary: {
      release: "v43",
      cfRay: "7a7a7a7a7a7a7a7a-AMS",
      colo: "AMS",
      topFrame: "taxOf (index.js:300:9)",
    },
  });
  await putTrace(t.bucket, {
    ...fail,
    id: hexId(3),
    route: "/orders/:id",
    start: T0 - 30_000,
    // The same function after a deploy moved its bundle line: the same issue.
    summary: { release: "v43", colo: "AMS", topFrame: "priceOf (index.js:131:7)" },
  });
  await putTrace(t.bucket, { app: "shop-api", id: hexId(4), route: "/cart", start: T0 - 20_000 });
  await sweep(t.db, t.bucket, { now: T0 });
});
afterAll(async () => t?.dispose());

async function ids(q: string): Promise<string[]> {
  return (await listExecutions(t.db, { ws: "acme", q })).rows.map((r) => r.traceId).sort();
}

describe("release, cf-ray and colo", () => {
  it("indexes them from the R2 metadata", async () => {
    const row = (await listExecutions(t.db, { ws: "acme", q: hexId(1) })).rows[0];
    expect(row).toMatchObject({
      release: "v42",
      cfRay: RAY,
      colo: "SJC",
      topFrame: "priceOf (index.js:120:7)",
    });
  });

  it("finds an execution by cf-ray, colo or release in free text", async () => {
    expect(await ids(RAY)).toEqual([hexId(1)]);
    expect(await ids("8f1e2d3c")).toEqual([hexId(1)]);
    expect(await ids("sjc")).toEqual([hexId(1)]);
    expect(await ids("v43")).toEqual([hexId(2), hexId(3)]);
  });

  it("filters with release:, colo: and ray: terms, beside free text", async () => {
    expect(await ids("release:v42")).toEqual([hexId(1)]);
    expect(await ids("colo:ams")).toEqual([hexId(2), hexId(3)]);
    expect(await ids("colo:ams release:v43 ray:7a7a")).toEqual([hexId(2)]);
    expect(await ids("release:v4 TypeError")).toEqual([hexId(1), hexId(2), hexId(3)]);
    expect(await ids("release:v%")).toEqual([]);
    expect(searchTerms("cf-ray:ABC-sjc  checkout ")).toEqual({ text: "checkout", ray: "abc-sjc" });
  });

  it("shows them on the execution page", async () => {
    const page = await (
      await app.request(`/w/acme/executions/${hexId(1)}`, bearer(s.tokens.acmeViewer), env)
    ).text();
    expect(page).toMatch(/id="release" class="mono">v42</);
    expect(page).toContain(`id="cf-ray">${RAY}<`);
    expect(page).toContain('id="colo">SJC<');
    expect(page).toContain("No source map for release");
    expect(page).toMatch(/id="cpu"[^>]*>not recorded/);
    const list = await (
      await app.request(
        `/w/acme/executions?q=${encodeURIComponent(RAY)}`,
        bearer(s.tokens.acmeViewer),
        env,
      )
    ).text();
    expect(list).toContain(hexId(1));
    expect(list).not.toContain(hexId(2));
  });
});

describe("the top frame in the issue fingerprint", () => {
  it("splits issues by the top frame's function, across bundle lines", async () => {
    const issues = await issuesOf(t.db, "acme");
    expect(issues.map((i) => [i.route, i.count, i.topFrame]).sort()).toEqual([
      ["/orders/:id", 1, "taxOf (index.js:300:9)"],
      ["/orders/:id", 2, "priceOf (index.js:131:7)"],
    ]);
    const price = issues.find((i) => i.count === 2)!;
    expect(price.lastTrace).toBe(hexId(3));
    const trend = (await issueTrends(t.db, "acme", [price.id], { now: T0 })).get(price.id)!;
    expect(trend.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it("keys frames by function and bundle file, anonymous ones by position", () => {
    expect(frameKey("priceOf (index.js:120:7)")).toBe("priceOf index.js");
    expect(frameKey("Object.priceOf (file:///srv/app/index.js:1:2)")).toBe(
      "Object.priceOf index.js",
    );
    expect(frameKey("index.js:120:7")).toBe("index.js:120:7");
    expect(frameKey("<anonymous> (index.js:5:1)")).toBe("index.js:5:1");
    expect(frameKey(undefined)).toBeNull();
    expect(frameKey("  ")).toBeNull();
    expect(parseFrame("priceOf (index.js:120:7)")).toEqual(["priceOf", "index.js", 120, 7]);
    expect(parseFrame("file:///srv/index.js:1:2")).toEqual(["", "file:///srv/index.js", 1, 2]);
    expect(parseFrame("not a frame")).toBeNull();
  });
});

describe("issues formed before top frames", () => {
  beforeEach(async () => {
    for (const table of ["executions", "rollups", "rollup_durations", "issues"]) {
      await t.db.prepare(`DELETE FROM ${table}`).run();
    }
  });

  function row(n: number, over: Partial<ExecutionRow> = {}): ExecutionRow {
    return {
      traceId: hexId(0x100 + n),
      app: "shop-api",
      ws: null,
      route: "/products/:id",
      method: "GET",
      status: 500,
      statusClass: 5,
      outcome: "exception",
      start: T0 - 10_000 + n,
      durationMs: 3,
      events: 2,
      hosts: "",
      errorClass: "TypeError",
      truncated: false,
      runtime: "workerd",
      version: "2",
      r2Key: `traces/shop-api/${n}.cbor`,
      origin: "unverified",
      ...over,
    };
  }

  it("keeps counting frameless executions in the issue they formed", async () => {
    const store = (rows: ExecutionRow[]) =>
      storeRows(t.db, rows, { now: T0, defaultWorkspace: "acme" });
    await store([row(1), row(2)]);
    const [before] = await issuesOf(t.db, "acme");
    expect(before).toMatchObject({ count: 2, topFrame: null });
    const fp = await t.db
      .prepare("SELECT fingerprint FROM issues")
      .first<{ fingerprint: string }>();
    expect(fp?.fingerprint).toBe(["shop-api", "GET", "/products/:id", "TypeError"].join("\u001f"));
    await store([row(3), row(4, { topFrame: "priceOf (index.js:1:2)" })]);
    const after = await issuesOf(t.db, "acme");
    expect(after.find((i) => i.id === before!.id)?.count).toBe(3);
    expect(after.find((i) => i.topFrame)?.count).toBe(1);
  });
});
