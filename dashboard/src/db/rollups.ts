/**
 * Pre-aggregated counts and duration histograms per app, route and 5-minute bucket. The indexer
 * adds only rows it actually inserted, so re-indexing never double counts. Percentiles come from
 * the histogram, interpolated inside a bin.
 * @module
 */
export const BUCKET_MS = 5 * 60_000;

/** Upper bounds (ms) of the duration bins; the last bin is open. */
export const DURATION_BINS = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000,
  10_000, 30_000, 60_000,
] as const;

const BIN_CASE = `CASE ${DURATION_BINS.map((b, i) => `WHEN duration_ms <= ${b} THEN ${i}`).join(" ")} ELSE ${DURATION_BINS.length} END`;

/**
 * Statements that add to the rollups the rows of `traceIds` that batch `batch` inserted. Run in
 * the same `db.batch` as the inserts: rows another batch inserted earlier are not counted again.
 * Unassigned rows (no workspace) count nowhere: an app registered later never sees them.
 */
export function rollupStatements(
  db: D1Database,
  batch: string,
  traceIds: readonly string[],
): D1PreparedStatement[] {
  if (!traceIds.length) return [];
  const ids = traceIds.map(() => "?").join(",");
  const from = `FROM executions WHERE trace_id IN (${ids}) AND batch = ? AND ws IS NOT NULL`;
  return [
    db
      .prepare(
        `INSERT INTO rollups (app, route, bucket, requests, ok, error, exception, s2xx, s3xx, s4xx, s5xx)
         SELECT app, route, (start / ${BUCKET_MS}) * ${BUCKET_MS} AS b, count(*),
           sum(outcome = 'ok'), sum(outcome = 'error'), sum(outcome = 'exception'),
           sum(status_class = 2), sum(status_class = 3), sum(status_class = 4), sum(status_class = 5)
         ${from} GROUP BY app, route, b
         ON CONFLICT (app, bucket, route) DO UPDATE SET requests = requests + excluded.requests,
           ok = ok + excluded.ok, error = error + excluded.error, exception = exception + excluded.exception,
           s2xx = s2xx + excluded.s2xx, s3xx = s3xx + excluded.s3xx, s4xx = s4xx + excluded.s4xx,
           s5xx = s5xx + excluded.s5xx`,
      )
      .bind(...traceIds, batch),
    db
      .prepare(
        `INSERT INTO rollup_durations (app, route, bucket, bin, n)
         SELECT app, route, (start / ${BUCKET_MS}) * ${BUCKET_MS} AS b, ${BIN_CASE} AS k, count(*)
         ${from} GROUP BY app, route, b, k
         ON CONFLICT (app, bucket, route, bin) DO UPDATE SET n = n + excluded.n`,
      )
      .bind(...traceIds, batch),
  ];
}

/** The value at quantile `q` (0..1) of a histogram given as counts per bin. */
export function quantile(bins: readonly number[], q: number): number | null {
  const total = bins.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const target = q * total;
  let seen = 0;
  for (let i = 0; i < bins.length; i++) {
    const n = bins[i] ?? 0;
    if (n && seen + n >= target) {
      const lo = i === 0 ? 0 : DURATION_BINS[i - 1]!;
      const hi = DURATION_BINS[i] ?? lo * 2;
      return lo + ((hi - lo) * (target - seen)) / n;
    }
    seen += n;
  }
  return DURATION_BINS[DURATION_BINS.length - 1]!;
}

export interface SeriesPoint {
  t: number;
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
}

export interface Overview {
  step: number;
  points: SeriesPoint[];
  totals: {
    requests: number;
    ok: number;
    error: number;
    exception: number;
    s2xx: number;
    s3xx: number;
    s4xx: number;
    s5xx: number;
    p50: number | null;
    p95: number | null;
  };
  routes: { route: string; requests: number; errors: number; p95: number | null }[];
}

/** Chart series and totals for some apps (optionally one route) over [from, to). */
export async function overview(
  db: D1Database,
  apps: readonly string[],
  options: { from: number; to: number; route?: string | null; points?: number },
): Promise<Overview> {
  const span = Math.max(options.to - options.from, BUCKET_MS);
  const step = Math.max(
    BUCKET_MS,
    Math.ceil(span / (options.points ?? 48) / BUCKET_MS) * BUCKET_MS,
  );
  const from = Math.floor(options.from / step) * step;
  const emptyTotals = {
    requests: 0,
    ok: 0,
    error: 0,
    exception: 0,
    s2xx: 0,
    s3xx: 0,
    s4xx: 0,
    s5xx: 0,
  };
  if (!apps.length)
    return { step, points: [], totals: { ...emptyTotals, p50: null, p95: null }, routes: [] };
  const inApps = `app IN (${apps.map(() => "?").join(",")})`;
  const routeSql = options.route ? " AND route = ?" : "";
  const args = [...apps, from, options.to, ...(options.route ? [options.route] : [])];
  const [series, hist, routes, routeHist] = await db.batch<Record<string, number | string>>([
    db
      .prepare(
        `SELECT CAST((bucket - ?) / ? AS INTEGER) AS i, sum(requests) AS requests, sum(error) + sum(exception) AS errors,
           sum(ok) AS ok, sum(error) AS error, sum(exception) AS exception,
           sum(s2xx) AS s2xx, sum(s3xx) AS s3xx, sum(s4xx) AS s4xx, sum(s5xx) AS s5xx
         FROM rollups WHERE ${inApps} AND bucket >= ? AND bucket < ?${routeSql} GROUP BY i ORDER BY i`,
      )
      .bind(from, step, ...args),
    db
      .prepare(
        `SELECT CAST((bucket - ?) / ? AS INTEGER) AS i, bin, sum(n) AS n FROM rollup_durations
         WHERE ${inApps} AND bucket >= ? AND bucket < ?${routeSql} GROUP BY i, bin`,
      )
      .bind(from, step, ...args),
    db
      .prepare(
        `SELECT route, sum(requests) AS requests, sum(error) + sum(exception) AS errors FROM rollups
         WHERE ${inApps} AND bucket >= ? AND bucket < ?${routeSql} GROUP BY route ORDER BY requests DESC LIMIT 20`,
      )
      .bind(...args),
    db
      .prepare(
        `SELECT route, bin, sum(n) AS n FROM rollup_durations
         WHERE ${inApps} AND bucket >= ? AND bucket < ?${routeSql} GROUP BY route, bin`,
      )
      .bind(...args),
  ]);
  const n = Math.ceil((options.to - from) / step);
  const binsAt = Array.from({ length: n }, () =>
    new Array<number>(DURATION_BINS.length + 1).fill(0),
  );
  const allBins = new Array<number>(DURATION_BINS.length + 1).fill(0);
  for (const r of hist!.results) {
    const row = binsAt[Number(r.i)];
    if (row) row[Number(r.bin)]! += Number(r.n);
    allBins[Number(r.bin)]! += Number(r.n);
  }
  const totals = { ...emptyTotals };
  const byIndex = new Map<number, Record<string, number | string>>();
  for (const r of series!.results) {
    byIndex.set(Number(r.i), r);
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += Number(r[k] ?? 0);
  }
  const points: SeriesPoint[] = binsAt.map((bins, i) => {
    const r = byIndex.get(i);
    return {
      t: from + i * step,
      requests: Number(r?.requests ?? 0),
      errors: Number(r?.errors ?? 0),
      p50: quantile(bins, 0.5),
      p95: quantile(bins, 0.95),
    };
  });
  const perRoute = new Map<string, number[]>();
  for (const r of routeHist!.results) {
    let bins = perRoute.get(String(r.route));
    if (!bins) {
      bins = new Array<number>(DURATION_BINS.length + 1).fill(0);
      perRoute.set(String(r.route), bins);
    }
    bins[Number(r.bin)]! += Number(r.n);
  }
  return {
    step,
    points,
    totals: { ...totals, p50: quantile(allBins, 0.5), p95: quantile(allBins, 0.95) },
    routes: routes!.results.map((r) => ({
      route: String(r.route),
      requests: Number(r.requests),
      errors: Number(r.errors),
      p95: quantile(perRoute.get(String(r.route)) ?? [], 0.95),
    })),
  };
}

/** Routes seen for some apps in [from, to), busiest first (for the route filter). */
export async function routesOf(
  db: D1Database,
  apps: readonly string[],
  options: { from: number; to: number },
): Promise<string[]> {
  if (!apps.length) return [];
  const { results } = await db
    .prepare(
      `SELECT route, sum(requests) AS n FROM rollups WHERE app IN (${apps.map(() => "?").join(",")})
       AND bucket >= ? AND bucket < ? GROUP BY route ORDER BY n DESC LIMIT 200`,
    )
    .bind(...apps, Math.floor(options.from / BUCKET_MS) * BUCKET_MS, options.to)
    .all<{ route: string }>();
  return results.map((r) => r.route);
}

/** Outcome and status-class totals for some apps (optionally one route) over [from, to). */
export async function facets(
  db: D1Database,
  apps: readonly string[],
  options: { from: number; to: number; route?: string | null },
): Promise<{
  ok: number;
  error: number;
  exception: number;
  s2xx: number;
  s3xx: number;
  s4xx: number;
  s5xx: number;
}> {
  const zero = { ok: 0, error: 0, exception: 0, s2xx: 0, s3xx: 0, s4xx: 0, s5xx: 0 };
  if (!apps.length) return zero;
  const row = await db
    .prepare(
      `SELECT sum(ok) AS ok, sum(error) AS error, sum(exception) AS exception, sum(s2xx) AS s2xx,
         sum(s3xx) AS s3xx, sum(s4xx) AS s4xx, sum(s5xx) AS s5xx FROM rollups
       WHERE app IN (${apps.map(() => "?").join(",")}) AND bucket >= ? AND bucket < ?${options.route ? " AND route = ?" : ""}`,
    )
    .bind(
      ...apps,
      Math.floor(options.from / BUCKET_MS) * BUCKET_MS,
      options.to,
      ...(options.route ? [options.route] : []),
    )
    .first<Record<keyof typeof zero, number | null>>();
  const out = { ...zero };
  for (const k of Object.keys(zero) as (keyof typeof zero)[]) out[k] = Number(row?.[k] ?? 0);
  return out;
}
