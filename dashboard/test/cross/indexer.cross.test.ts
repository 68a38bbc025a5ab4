/**
 * The dashboard's indexer against keys and metadata written by the real R2 sink: withFlux
 * workers (two apps, one whose name needs sanitizing) record into the bucket in workerd, then the
 * sweep indexes it with reads of trace bodies forbidden (so every row comes from the metadata the
 * sink wrote), and the agent's lookup by app and id finds each object. Either side changing the
 * key layout or the metadata alone fails here.
 */
import { appPrefix, indexedSummary, parseTraceKey, tracePrefix } from "fluxrun/contract";
import { readTrace } from "fluxrun/trace";
import { Miniflare } from "miniflare";
import { withNodeBindings, workerFetch } from "../../../runtime/test/_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningKeys, generateTraceKeys } from "fluxrun/trace";
import { createWorkspace } from "../../src/db/workspaces.js";
import { appPrefixes, sweep } from "../../src/indexer/sweep.js";
import { T0 } from "../_helpers.js";
import { dashboardDb, dashboardWorker, recorderWorker, traceBucket } from "./_parts.js";

const APPS = { shop: "shop api/v2", billing: "billing" } as const;
const PATHS = ["/products", "/cart", "/missing", "/boom", "/orders?id=1"];

let mf: Miniflare;
let db: D1Database;
let bucket: R2Bucket;
let stored: { key: string; bytes: Uint8Array }[];
const signing = await generateSigningKeys();

beforeAll(async () => {
  const keys = await generateTraceKeys();
  const vars = (app: string) => ({
    FLUX_APP: app,
    FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
    FLUX_SIGNING_KEY: JSON.stringify(signing.signingJwk),
  });
  mf = new Miniflare(
    await withNodeBindings({
      workers: [
        await dashboardWorker(),
        await recorderWorker("shop", vars(APPS.shop)),
        await recorderWorker("billing", vars(APPS.billing)),
      ],
    }),
  );
  await mf.ready;
  db = await dashboardDb(mf);
  bucket = await traceBucket(mf);
  await createWorkspace(db, { id: "acme", name: "Acme" }, T0);
  for (const worker of ["shop", "billing"] as const) {
    for (const path of PATHS) {
      // A thrown handler reaches this caller as an error or a 500; its trace is still written.
      await workerFetch(mf, worker, `http://app.test${path}`).then(
        (r) => r.arrayBuffer(),
        () => null,
      );
    }
  }
  const expected = PATHS.length * 2;
  for (let i = 0; i < 400; i++) {
    if ((await bucket.list({ prefix: "traces/" })).objects.length >= expected) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const list = await bucket.list({ prefix: "traces/" });
  stored = await Promise.all(
    list.objects.map(async (o) => ({
      key: o.key,
      bytes: new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer()),
    })),
  );
  expect(stored).toHaveLength(expected);
});
afterAll(async () => mf?.dispose());

describe("R2 sink → indexer", () => {
  it("writes keys in the layout the indexer lists: one prefix per app", async () => {
    expect((await appPrefixes(bucket)).sort()).toEqual(
      [appPrefix(APPS.billing), appPrefix(APPS.shop)].sort(),
    );
    for (const { key, bytes } of stored) {
      const { head } = readTrace(bytes);
      expect(parseTraceKey(key)).toMatchObject({
        traceId: head.id,
        start: head.summary.start,
      });
      expect(key.startsWith(appPrefix(head.summary.app))).toBe(true);
    }
  });

  it("indexes every trace from the sink's metadata alone, as the trace's own summary says", async () => {
    const result = await sweep(db, bucket, { now: T0, defaultWorkspace: "acme", maxReads: 0 });
    expect(result).toMatchObject({ listed: stored.length, inserted: stored.length, skipped: 0 });
    for (const { key, bytes } of stored) {
      const { head } = readTrace(bytes);
      const row = await db
        .prepare(
          `SELECT trace_id AS traceId, app, route, method, status, outcome, start, duration_ms AS durationMs,
             events, hosts, error_class AS errorClass, truncated, runtime, version, r2_key AS r2Key, ws,
             release, cf_ray AS cfRay, colo, top_frame AS topFrame
           FROM executions WHERE trace_id = ?`,
        )
        .bind(head.id)
        .first<Record<string, unknown>>();
      // The dashboard stores every field of the index but the handler kind and entry class.
      const { errorClass, handler: _h, entry: _e, ...indexed } = indexedSummary(head.summary);
      expect(row).toEqual({
        ...indexed,
        release: indexed.release ?? null,
        cfRay: indexed.cfRay ?? null,
        colo: indexed.colo ?? null,
        topFrame: indexed.topFrame ?? null,
        errorClass: errorClass ?? null,
        truncated: indexed.truncated ? 1 : 0,
        r2Key: key,
        ws: "acme",
      });
    }
    const again = await sweep(db, bucket, { now: T0, defaultWorkspace: "acme", maxReads: 0 });
    expect(again).toMatchObject({ inserted: 0, skipped: 0 });
  });

  it("verifies every trace the recorders signed, reading each (metadata is not authenticated)", async () => {
    await db.prepare("DELETE FROM executions").run();
    await db.prepare("DELETE FROM ingest_cursor").run();
    const originKeys = { [APPS.shop]: signing.verifyJwk, [APPS.billing]: signing.verifyJwk };
    const result = await sweep(db, bucket, { now: T0, defaultWorkspace: "acme", originKeys });
    expect(result).toMatchObject({ inserted: stored.length, skipped: 0 });
    const origins = await db
      .prepare("SELECT origin, count(*) AS n FROM executions GROUP BY origin")
      .all<{ origin: string; n: number }>();
    expect(origins.results).toEqual([{ origin: "verified", n: stored.length }]);
  });

  it("finds each object from its app and id, as the agent looks it up", async () => {
    for (const { key, bytes } of stored) {
      const { head } = readTrace(bytes);
      const listed = await bucket.list({ prefix: tracePrefix(head.summary.app, head.id) });
      expect(listed.objects.map((o) => o.key)).toContain(key);
    }
  });
});
