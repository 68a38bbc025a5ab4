/**
 * Traces lost on the way to the dashboard, as the apps' HTTP sinks report them with their ingest
 * batches (`dropped` in the ingest contract's envelope): counts per app and reason, never traces.
 * @module
 */
import { SINK_DROP_REASONS, type SinkDropReason, type SinkDrops } from "fluxrun/contract";

export interface SinkDropRow {
  app: string;
  reason: SinkDropReason;
  count: number;
  /** When the last drop of this reason was reported. */
  lastAt: number;
}

/**
 * Adds a batch's reported drops to the app's counts.
 *
 * @example
 * ```ts
 * await recordSinkDrops(db, "shop-api", { timeout: 2 }, now);
 * ```
 */
export async function recordSinkDrops(
  db: D1Database,
  app: string,
  dropped: SinkDrops,
  now: number,
): Promise<void> {
  const rows = SINK_DROP_REASONS.flatMap((reason) => {
    const n = dropped[reason];
    return n ? [{ reason, n }] : [];
  });
  if (!rows.length) return;
  await db.batch(
    rows.map(({ reason, n }) =>
      db
        .prepare(
          `INSERT INTO sink_drops (app, reason, count, last_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (app, reason) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at`,
        )
        .bind(app, reason, n, now),
    ),
  );
}

/**
 * The drop counts of some apps (a workspace's), by app then reason.
 *
 * @example
 * ```ts
 * const rows = await sinkDrops(db, apps.map((a) => a.name));
 * ```
 */
export async function sinkDrops(db: D1Database, apps: readonly string[]): Promise<SinkDropRow[]> {
  if (!apps.length) return [];
  const { results } = await db
    .prepare(
      `SELECT app, reason, count, last_at AS lastAt FROM sink_drops
       WHERE app IN (${apps.map(() => "?").join(",")}) ORDER BY app, reason`,
    )
    .bind(...apps)
    .all<SinkDropRow>();
  return results;
}
