/**
 * The list query at scale: 1,000,000 indexed executions in real D1 (Miniflare/workerd SQLite),
 * then the first page, filtered pages and a deep cursor page, timed by D1's own `meta.duration`
 * and end to end through `app.request()`. Target: p50 ≤ 50 ms. Filling takes about 10 s; set
 * FLUX_PERF_ROWS to try another size.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { listExecutions, countExecutions, type ListFilter } from "../src/db/executions.js";
import type { Env } from "../src/env.js";
import {
  bearer,
  frozenClock,
  makeEnv,
  seed,
  startStorage,
  T0,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

const ROWS = Number(process.env.FLUX_PERF_ROWS ?? 1_000_000);
let t: TestEnv;
let env: Env;
let s: Seeded;
const clock = frozenClock();
const app = createApp({ clock });

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t);
  // Three apps (one in another workspace), ~2% exceptions, 5% 4xx, 8 routes, one row every 250 ms.
  const chunk = 250_000;
  for (let from = 0; from < ROWS; from += chunk) {
    const to = Math.min(ROWS, from + chunk);
    await t.db
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
         INSERT INTO executions (trace_id, app, ws, route, method, status, status_class, outcome, start,
           duration_ms, events, hosts, error_class, truncated, runtime, version, r2_key, indexed_at)
         SELECT printf('%032x', i), CASE i % 3 WHEN 0 THEN 'shop-api' WHEN 1 THEN 'shop-web' ELSE 'billing' END,
           CASE i % 3 WHEN 2 THEN 'globex' ELSE 'acme' END,
           '/route/' || (i % 8), 'GET',
           CASE WHEN i % 50 = 0 THEN 500 WHEN i % 20 = 0 THEN 404 ELSE 200 END,
           CASE WHEN i % 50 = 0 THEN 5 WHEN i % 20 = 0 THEN 4 ELSE 2 END,
           CASE WHEN i % 50 = 0 THEN 'exception' ELSE 'ok' END,
           CAST(? AS INTEGER) - i * 250, (i % 97) + 0.5, 12, 'api.example.com',
           CASE WHEN i % 50 = 0 THEN (CASE WHEN i % 100 = 0 THEN 'TypeError' ELSE 'RangeError' END) END,
           0, 'workerd', '1', 'traces/x/' || i, ?
         FROM n`,
      )
      .bind(from, to, T0, T0)
      .run();
  }
  await t.db
    .prepare("INSERT OR IGNORE INTO apps (name, ws, created_at) VALUES ('shop-web', 'acme', 0)")
    .run();
  await t.db.prepare("ANALYZE").run();
}, 600_000);
afterAll(async () => t?.dispose());

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A D1 whose statements record D1's own `meta.duration` (SQL time inside workerd). */
function timed(db: D1Database, sink: number[]): D1Database {
  const wrap = (st: D1PreparedStatement): D1PreparedStatement =>
    ({
      bind: (...args: unknown[]) => wrap(st.bind(...args)),
      all: async () => {
        const r = await st.all();
        sink.push(r.meta.duration);
        return r;
      },
    }) as unknown as D1PreparedStatement;
  return { prepare: (sql: string) => wrap(db.prepare(sql)) } as unknown as D1Database;
}

/** Median SQL time (D1 meta.duration) and median round trip through the Miniflare proxy. */
async function times(
  filter: ListFilter,
  runs = 15,
  deep = false,
): Promise<{ sql: number; total: number }> {
  const sql: number[] = [];
  const total: number[] = [];
  const db = timed(t.db, sql);
  for (let i = 0; i < runs; i++) {
    const cursor = deep
      ? { start: T0 - Math.floor(ROWS * 0.6) * 250, traceId: "f".repeat(32) }
      : null;
    const t0 = performance.now();
    const page = await listExecutions(db, filter, { cursor });
    total.push(performance.now() - t0);
    expect(page.rows.length, JSON.stringify(filter)).toBe(50);
  }
  return { sql: median(sql), total: median(total) };
}

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

  it("answers each list shape with a median ≤ 50 ms (SQL time and proxy round trip)", async () => {
    const shapes: [string, ListFilter, boolean][] = [
      ["app, first page", { ws: "acme", app: "shop-api" }, false],
      ["workspace, first page", { ws: "acme" }, false],
      ["app + exceptions", { ws: "acme", app: "shop-api", outcome: "exception" }, false],
      ["app + 5xx", { ws: "acme", app: "shop-api", statusClass: 5 }, false],
      ["app + error class", { ws: "acme", app: "shop-api", errorClass: "TypeError" }, false],
      ["app + route", { ws: "acme", app: "shop-api", route: "/route/3" }, false],
      ["app + last hour", { ws: "acme", app: "shop-api", from: T0 - 3_600_000 }, false],
      ["app, deep cursor (60% in)", { ws: "acme", app: "shop-api" }, true],
      [
        "app + exceptions, deep cursor",
        { ws: "acme", app: "shop-api", outcome: "exception" },
        true,
      ],
    ];
    const out: string[] = [];
    for (const [name, filter, deep] of shapes) {
      const ms = await times(filter, 15, deep);
      out.push(`${name}: SQL ${ms.sql.toFixed(2)} ms, round trip ${ms.total.toFixed(1)} ms`);
      expect(ms.sql, name).toBeLessThanOrEqual(50);
      expect(ms.total, name).toBeLessThanOrEqual(50);
    }
    const count = performance.now();
    const c = await countExecutions(t.db, { ws: "acme", app: "shop-api" });
    out.push(
      `capped count: ${(performance.now() - count).toFixed(1)} ms (${c.count}${c.capped ? "+" : ""})`,
    );
    const r0 = performance.now();
    const res = await app.request(
      "/api/w/acme/executions?app=shop-api&outcome=exception",
      bearer(s.tokens.acmeViewer),
      env,
    );
    expect(res.status).toBe(200);
    out.push(
      `GET /api/w/acme/executions (list + count, end to end): ${(performance.now() - r0).toFixed(1)} ms`,
    );
    console.log(out.join("\n"));
  });
});
