/**
 * The R2 sweep in real D1/R2 (Miniflare): idempotent by trace id, batched, incremental with a
 * look-back for late writes, metadata-less objects read from the clear head, damaged objects
 * skipped with a reason, rebuilds, workspace assignment, and the cron handler.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sweep, lookbackKey } from "../src/indexer/sweep.js";
import { scheduledSweep } from "../src/index.js";
import { registerApp, createWorkspace } from "../src/db/workspaces.js";
import { overview } from "../src/db/rollups.js";
import { generateSigningKeys } from "fluxrun/trace";
import { summaryMetadata, traceKey } from "fluxrun/contract";
import {
  hexId,
  putTrace,
  sealedBytes,
  startStorage,
  T0,
  traceParts,
  type TestEnv,
} from "./_helpers.js";

let t: TestEnv;
beforeAll(async () => {
  t = await startStorage();
});
afterAll(async () => t?.dispose());

async function count(sql: string, ...args: unknown[]): Promise<number> {
  const r = await t.db
    .prepare(sql)
    .bind(...args)
    .first<{ n: number }>();
  return r?.n ?? 0;
}

async function reset() {
  for (const table of [
    "executions",
    "rollups",
    "rollup_durations",
    "ingest_cursor",
    "ingest_skips",
    "apps",
    "members",
    "workspaces",
  ]) {
    await t.db.prepare(`DELETE FROM ${table}`).run();
  }
  const list = await t.bucket.list();
  if (list.objects.length) await t.bucket.delete(list.objects.map((o) => o.key));
  await createWorkspace(t.db, { id: "acme", name: "Acme" }, T0);
}

beforeEach(reset);

describe("sweep", () => {
  it("indexes every trace once, however often it runs", async () => {
    for (let i = 0; i < 120; i++) {
      await putTrace(t.bucket, {
        id: hexId(i + 1),
        app: "shop-api",
        route: i % 3 ? "/cart" : "/checkout",
        status: i % 10 === 0 ? 500 : 200,
        outcome: i % 10 === 0 ? "exception" : "ok",
        ...(i % 10 === 0 ? { errorClass: "TypeError" } : {}),
        start: T0 - 3_600_000 + i * 1000,
        durationMs: 10 + i,
      });
    }
    const first = await sweep(t.db, t.bucket, { now: T0, defaultWorkspace: "acme" });
    expect(first).toMatchObject({ listed: 120, inserted: 120, skipped: 0, done: true });
    const second = await sweep(t.db, t.bucket, {
      now: T0,
      defaultWorkspace: "acme",
      rebuild: true,
    });
    expect(second.inserted).toBe(0);
    expect(await count("SELECT count(*) AS n FROM executions")).toBe(120);
    expect(await count("SELECT count(*) AS n FROM executions WHERE ws = 'acme'")).toBe(120);
    expect(await count("SELECT sum(requests) AS n FROM rollups")).toBe(120);
    expect(await count("SELECT sum(exception) AS n FROM rollups")).toBe(12);
    expect(await count("SELECT sum(n) AS n FROM rollup_durations")).toBe(120);
    const row = await t.db
      .prepare("SELECT * FROM executions WHERE trace_id = ?")
      .bind(hexId(1))
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      app: "shop-api",
      route: "/checkout",
      status: 500,
      status_class: 5,
      outcome: "exception",
      error_class: "TypeError",
      events: 6,
      start: T0 - 3_600_000,
    });
    const o = await overview(t.db, ["shop-api"], { from: T0 - 2 * 3_600_000, to: T0 });
    expect(o.totals.requests).toBe(120);
    expect(o.totals.p50).toBeGreaterThan(50);
    expect(o.totals.p95).toBeGreaterThan(o.totals.p50!);
  });

  it("continues from the last key and still catches a trace written late behind it", async () => {
    await putTrace(t.bucket, { id: hexId(1), app: "shop-api", route: "/a", start: T0 - 60_000 });
    await putTrace(t.bucket, { id: hexId(2), app: "shop-api", route: "/b", start: T0 - 30_000 });
    expect((await sweep(t.db, t.bucket, { now: T0 })).inserted).toBe(2);
    // A long request that started before /b finishes (and is stored) after the sweep.
    await putTrace(t.bucket, { id: hexId(3), app: "shop-api", route: "/slow", start: T0 - 45_000 });
    await putTrace(t.bucket, { id: hexId(4), app: "shop-api", route: "/c", start: T0 - 10_000 });
    const r = await sweep(t.db, t.bucket, { now: T0 });
    expect(r.inserted).toBe(2);
    expect(r.listed).toBeLessThan(5);
    expect(await count("SELECT count(*) AS n FROM executions")).toBe(4);
  });

  it("binds a trace once, at indexing, to the app's owner since the trace started; claiming later moves nothing", async () => {
    await putTrace(t.bucket, { id: hexId(1), app: "orphan", route: "/", start: T0 - 1000 });
    await sweep(t.db, t.bucket, { now: T0 });
    expect(await count("SELECT count(*) AS n FROM executions WHERE ws IS NULL")).toBe(1);
    // Recorded before the registration, indexed after it: still nobody's.
    await putTrace(t.bucket, { id: hexId(2), app: "orphan", route: "/", start: T0 - 500 });
    expect(await registerApp(t.db, "acme", "orphan", T0)).toBe("created");
    // Recorded after the registration: acme's.
    await putTrace(t.bucket, { id: hexId(3), app: "orphan", route: "/", start: T0 + 10 });
    await sweep(t.db, t.bucket, { now: T0 + 60_000, rebuild: true });
    const rows = await t.db
      .prepare("SELECT trace_id AS id, ws FROM executions ORDER BY id")
      .all<{ id: string; ws: string | null }>();
    expect(rows.results).toEqual([
      { id: hexId(1), ws: null },
      { id: hexId(2), ws: null },
      { id: hexId(3), ws: "acme" },
    ]);
    expect(await count("SELECT sum(requests) AS n FROM rollups")).toBe(1);
    await createWorkspace(t.db, { id: "other", name: "Other" }, T0);
    expect(await registerApp(t.db, "other", "orphan", T0)).toBe("taken");
  });

  it("reads the clear head of objects without metadata and skips damaged ones with a reason", async () => {
    await putTrace(
      t.bucket,
      { id: hexId(7), app: "shop-api", route: "/nometa", start: T0 - 5000, status: 502 },
      { metadata: false },
    );
    await t.bucket.put(
      "traces/shop-api/2026-04-20/11/115959000-" + hexId(8) + ".cbor",
      new Uint8Array([1, 2, 3]),
    );
    await t.bucket.put("traces/shop-api/2026-04-20/11/readme.txt", "hello");
    const r = await sweep(t.db, t.bucket, { now: T0, defaultWorkspace: "acme" });
    expect(r).toMatchObject({ inserted: 1, skipped: 2 });
    const row = await t.db
      .prepare("SELECT route, status, version FROM executions WHERE trace_id = ?")
      .bind(hexId(7))
      .first();
    expect(row).toEqual({ route: "/nometa", status: 502, version: "3" });
    const skips = await t.db
      .prepare("SELECT reason FROM ingest_skips ORDER BY reason")
      .all<{ reason: string }>();
    expect(skips.results.map((s) => s.reason)).toEqual([
      "not a trace (.cbor) object",
      "unreadable trace: ERR_TRACE_CORRUPT",
    ]);
  });

  it("indexes a signed app's traces only when its signature verifies, whatever the metadata says", async () => {
    const keys = await generateSigningKeys();
    const originKeys = { "shop-api": keys.verifyJwk };
    await putTrace(
      t.bucket,
      { id: hexId(11), app: "shop-api", route: "/real", start: T0 - 5000 },
      { signingKey: keys.signingJwk },
    );
    // A forgery sealed with the public key alone, with summary metadata that looks right, and
    // a real trace copied under another id's key.
    await putTrace(t.bucket, {
      id: hexId(12),
      app: "shop-api",
      route: "/forged",
      start: T0 - 4000,
    });
    const copied = { id: hexId(13), app: "shop-api", route: "/copy", start: T0 - 3000 };
    const { summary } = traceParts(copied).head;
    await t.bucket.put(
      traceKey(summary),
      await sealedBytes(
        { id: hexId(11), app: "shop-api", route: "/real", start: T0 - 5000 },
        keys.signingJwk,
      ),
      { customMetadata: summaryMetadata(summary) },
    );
    const r = await sweep(t.db, t.bucket, { now: T0, defaultWorkspace: "acme", originKeys });
    expect(r).toMatchObject({ inserted: 1, skipped: 2 });
    const rows = await t.db
      .prepare("SELECT trace_id AS id, route, origin FROM executions")
      .all<{ id: string; route: string; origin: string }>();
    expect(rows.results).toEqual([{ id: hexId(11), route: "/real", origin: "verified" }]);
    const skips = await t.db
      .prepare("SELECT reason FROM ingest_skips ORDER BY reason")
      .all<{ reason: string }>();
    expect(skips.results.map((s) => s.reason)).toEqual([
      "not the trace its key names: stored by hand",
      "refused trace: ERR_TRACE_UNSIGNED",
    ]);
  });

  it("stops at the page budget and a rebuild resumes where it stood", async () => {
    for (let i = 0; i < 5; i++)
      await putTrace(t.bucket, {
        id: hexId(100 + i),
        app: "a1",
        route: "/",
        start: T0 - 10_000 + i,
      });
    for (let i = 0; i < 3; i++)
      await putTrace(t.bucket, {
        id: hexId(200 + i),
        app: "a2",
        route: "/",
        start: T0 - 10_000 + i,
      });
    const step = () => sweep(t.db, t.bucket, { now: T0, maxPages: 1, pageSize: 2 });
    const first = await sweep(t.db, t.bucket, { now: T0, rebuild: true, maxPages: 1, pageSize: 2 });
    expect(first).toMatchObject({ prefixes: 2, inserted: 4, done: false });
    const rebuilding = await t.db
      .prepare("SELECT count(*) AS n FROM ingest_cursor WHERE rebuild_key IS NOT NULL")
      .first<{ n: number }>();
    expect(rebuilding?.n).toBe(2);
    let runs = 1;
    while (!(await step()).done) runs++;
    expect(runs).toBeLessThanOrEqual(3);
    expect(await count("SELECT count(*) AS n FROM executions")).toBe(8);
    const cursors = await t.db
      .prepare("SELECT prefix, rebuild_key FROM ingest_cursor ORDER BY prefix")
      .all();
    expect(cursors.results).toEqual([
      { prefix: "traces/a1/", rebuild_key: null },
      { prefix: "traces/a2/", rebuild_key: null },
    ]);
  });

  it("the cron handler sweeps every app prefix", async () => {
    await putTrace(t.bucket, { id: hexId(1), app: "shop-api", route: "/", start: T0 - 1000 });
    await putTrace(t.bucket, { id: hexId(2), app: "billing", route: "/", start: T0 - 1000 });
    await scheduledSweep({ DB: t.db, FLUX_TRACES: t.bucket, FLUX_DEFAULT_WORKSPACE: "acme" }, T0);
    expect(await count("SELECT count(*) AS n FROM executions WHERE ws = 'acme'")).toBe(2);
  });
});

describe("lookbackKey", () => {
  it("moves a key back in time within its prefix", () => {
    expect(lookbackKey("traces/a/2026-04-20/00/000500000-" + hexId(1) + ".cbor", 15 * 60_000)).toBe(
      "traces/a/2026-04-19/23/234999999".replace("234999999", "235000000"),
    );
  });
});
