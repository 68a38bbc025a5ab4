// Dashboard row of `npm run bench`: the executions-list query with 1,000,000 indexed executions
// in local D1 (Miniflare/workerd SQLite). Times each list shape by D1's own meta.duration (SQL
// inside workerd) and by the round trip from Node, and one full API request through the app.
// Bundled for Node by bench/run.mjs (it imports the dashboard's TypeScript).
import { createApp } from "../dashboard/src/app.js";
import { listExecutions } from "../dashboard/src/db/executions.js";
import {
  bearer,
  fillExecutions,
  frozenClock,
  listShapes,
  makeEnv,
  seed,
  startStorage,
} from "../dashboard/test/_helpers.js";

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export async function measureDashboardList(rows = 1_000_000): Promise<{
  rows: number;
  sql: { p50: number; p95: number };
  roundTrip: { p50: number; p95: number };
  apiRequestMs: number;
}> {
  const t = await startStorage();
  try {
    const clock = frozenClock();
    const s = await seed(t.db, clock);
    await fillExecutions(t.db, rows);
    await t.db.prepare("ANALYZE").run();
    const shapes = listShapes(rows);
    const sql: number[] = [];
    const round: number[] = [];
    const timedDb = {
      prepare: (q: string) => {
        const wrap = (st: D1PreparedStatement): D1PreparedStatement =>
          ({
            bind: (...a: unknown[]) => wrap(st.bind(...a)),
            all: async () => {
              const r = await st.all();
              sql.push(r.meta.duration);
              return r;
            },
          }) as unknown as D1PreparedStatement;
        return wrap(t.db.prepare(q));
      },
    } as unknown as D1Database;
    for (let run = 0; run < 10; run++) {
      for (const { filter, cursor } of shapes) {
        const t0 = performance.now();
        await listExecutions(timedDb, filter, { cursor });
        round.push(performance.now() - t0);
      }
    }
    const app = createApp({ clock });
    const r0 = performance.now();
    const res = await app.request(
      "/api/w/acme/executions?app=shop-api&outcome=exception",
      bearer(s.tokens.acmeViewer),
      makeEnv(t),
    );
    await res.text();
    return {
      rows,
      sql: { p50: pct(sql, 50), p95: pct(sql, 95) },
      roundTrip: { p50: pct(round, 50), p95: pct(round, 95) },
      apiRequestMs: performance.now() - r0,
    };
  } finally {
    await t.dispose();
  }
}
