/**
 * The sweep's state per app prefix (last indexed key, a rebuild's position, counters, last
 * error) and the objects it could not index, with why.
 * @module
 */

/** Where a prefix's sweep stands. */
export interface Cursor {
  lastKey: string | null;
  /** A rebuild's position: null when none runs, "" at its start. */
  rebuildKey: string | null;
}

export interface CursorStatus {
  prefix: string;
  lastKey: string | null;
  rebuilding: boolean;
  sweptAt: number | null;
  indexed: number;
  skipped: number;
  lastError: string | null;
}

/** Starts (or restarts) a rebuild of a prefix from its first key. */
export async function startRebuild(db: D1Database, prefix: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO ingest_cursor (prefix, rebuild_key) VALUES (?, '')
       ON CONFLICT (prefix) DO UPDATE SET rebuild_key = ''`,
    )
    .bind(prefix)
    .run();
}

export async function readCursor(db: D1Database, prefix: string): Promise<Cursor | null> {
  return db
    .prepare(
      "SELECT last_key AS lastKey, rebuild_key AS rebuildKey FROM ingest_cursor WHERE prefix = ?",
    )
    .bind(prefix)
    .first<Cursor>();
}

/** Records one sweep of a prefix: its new position and what it indexed or skipped. */
export async function saveCursor(
  db: D1Database,
  prefix: string,
  run: Cursor & { at: number; indexed: number; skipped: number; error: string | null },
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO ingest_cursor (prefix, last_key, rebuild_key, swept_at, indexed, skipped, last_error)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
       ON CONFLICT (prefix) DO UPDATE SET last_key = ?2, rebuild_key = ?3, swept_at = ?4,
         indexed = indexed + ?5, skipped = skipped + ?6, last_error = ?7`,
    )
    .bind(prefix, run.lastKey, run.rebuildKey, run.at, run.indexed, run.skipped, run.error)
    .run();
}

/** Remembers objects the sweep could not index (key and reason; the newest reason wins). */
export async function recordSkips(
  db: D1Database,
  skips: readonly { key: string; reason: string }[],
  now: number,
): Promise<void> {
  if (!skips.length) return;
  await db.batch(
    skips.map(({ key, reason }) =>
      db
        .prepare("INSERT OR REPLACE INTO ingest_skips (r2_key, reason, at) VALUES (?, ?, ?)")
        .bind(key, reason, now),
    ),
  );
}

/** The newest skipped objects under any of `prefixes`. */
export async function skipsUnder(
  db: D1Database,
  prefixes: readonly string[],
  options: { limit?: number } = {},
): Promise<{ key: string; reason: string; at: number }[]> {
  if (!prefixes.length) return [];
  const { results } = await db
    .prepare(
      `SELECT r2_key AS key, reason, at FROM ingest_skips
       WHERE ${prefixes.map(() => "substr(r2_key, 1, length(?)) = ?").join(" OR ")}
       ORDER BY at DESC LIMIT ?`,
    )
    .bind(...prefixes.flatMap((p) => [p, p]), options.limit ?? 20)
    .all<{ key: string; reason: string; at: number }>();
  return results;
}

/** The sweep state of some prefixes (all when none are named). */
export async function cursorStatus(
  db: D1Database,
  prefixes?: readonly string[],
): Promise<CursorStatus[]> {
  const filter = prefixes ? `WHERE prefix IN (${prefixes.map(() => "?").join(",") || "''"})` : "";
  const { results } = await db
    .prepare(
      `SELECT prefix, last_key AS lastKey, rebuild_key IS NOT NULL AS rebuilding, swept_at AS sweptAt,
         indexed, skipped, last_error AS lastError FROM ingest_cursor ${filter} ORDER BY prefix`,
    )
    .bind(...(prefixes ?? []))
    .all<Omit<CursorStatus, "rebuilding"> & { rebuilding: number }>();
  return results.map((r) => ({ ...r, rebuilding: r.rebuilding === 1 }));
}
