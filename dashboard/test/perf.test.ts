/**
 * The list query at scale in real D1 (Miniflare/workerd SQLite): the keyset indexes are used and
 * every list shape pages correctly. Its timing at 1,000,000 rows is measured by `npm run bench`
 * (bench/dashboard-list.ts), not asserted here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { listExecutions, countExecutions } from "../src/db/executions.js";
import type { Env } from "../src/env.js";
import {
  bearer,
  fillExecutions,
  listShapes,
  frozenClock,
  makeEnv,
  seed,
  startStorage,
  T0,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

// Timing at 1,000,000 rows lives in `npm run bench`; this checks behaviour at a size that still
// exercises the indexes.
const ROWS = Number(process.env.FLUX_PERF_ROWS ?? 50_000);
let t: TestEnv;
let env: Env;
let s: Seeded;
const clock = frozenClock();
const app = createApp({ clock });

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t);
  await fillExecutions(t.db, ROWS);
  await t.db
    .prepare("INSERT OR IGNORE INTO apps (name, ws, created_at) VALUES ('shop-web', 'acme', 0)")
    .run();
  await t.db.prepare("ANALYZE").run();
}, 600_000);
afterAll(async () => t?.dispose());

describe(`list query over ${ROWS.toLocaleString("en-US")} executions`, () => {
  it("holds the row count", async () => {
    const n = await t.db.prepare("SELECT count(*) AS n FROM executions").first<{ n: number }>();
    expect(n?.n).toBe(ROWS);
  });

  it("uses the keyset indexes", async () => {
    const plan = await t.db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT trace_id FROM executions WHERE ws = ? AND app = ? AND (start, trace_id) < (?, ?) ORDER BY start DESC, trace_id DESC LIMIT 51",
      )
      .bind("acme", "shop-api", T0, "f".repeat(32))
      .all<{ detail: string }>();
    const detail = plan.results.map((r) => r.detail).join(" | ");
    expect(detail).toMatch(/USING INDEX executions_app_time/);
    expect(detail).not.toMatch(/TEMP B-TREE/);
  });

  it("pages each list shape at scale: full pages, in order, keyset cursors", async () => {
    for (const { filter, cursor } of listShapes(ROWS)) {
      const page = await listExecutions(t.db, filter, { cursor });
      expect(page.rows.length, JSON.stringify(filter)).toBe(50);
      const starts = page.rows.map((r) => r.start);
      expect(starts, JSON.stringify(filter)).toEqual([...starts].sort((a, b) => b - a));
    }
    const res = await app.request(
      "/api/w/acme/executions?app=shop-api&outcome=exception",
      bearer(s.tokens.acmeViewer),
      env,
    );
    expect(res.status).toBe(200);
    expect(await countExecutions(t.db, { ws: "acme", app: "shop-api" })).toMatchObject({
      capped: ROWS >= 30_000,
    });
  });
});
