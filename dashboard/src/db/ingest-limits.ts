/**
 * Ingest limits and the record of what ingest refused, in D1 with the app's clock: a per-token
 * request rate (fixed windows), a lockout of a client address after repeated failed
 * authentications, one audit row per burst of refusals, and refusal counts per app and reason for
 * Diagnostics. D1 rather than Cloudflare's rate limiting binding: that binding counts per location
 * and approximately, and cannot lock out or say when a burst began; one strongly consistent
 * counter row per key can, and tests drive it with a frozen clock.
 * @module
 */

/** Ingest requests one token may make per window; `FLUX_INGEST_RATE` overrides `maxRequests`. */
export const INGEST_RATE = { maxRequests: 120, windowMs: 60_000 } as const;
/** Failed authentications from one address per window before it is locked out for `lockMs`. */
export const INGEST_LOCKOUT = { maxFailures: 10, windowMs: 60_000, lockMs: 15 * 60_000 } as const;
/** A burst of refusals (same workspace, sender and reason) is audited once per window. */
export const AUDIT_BURST_MS = 10 * 60_000;
const HOUR_MS = 3_600_000;

/** Request-level refusals (whole requests) and item-level ones (traces) Diagnostics shows. */
export const REQUEST_REFUSALS = [
  "auth",
  "locked",
  "rate_limited",
  "version",
  "body_too_large",
  "not_a_batch",
] as const;
export type RequestRefusal = (typeof REQUEST_REFUSALS)[number];

/** Adds one to the window's counter of `key`; returns the count in the current window. */
async function bump(
  db: D1Database,
  key: string,
  options: { now: number; windowMs: number },
): Promise<{ n: number; win: number }> {
  const win = Math.floor(options.now / options.windowMs) * options.windowMs;
  const row = await db
    .prepare(
      `INSERT INTO ingest_limits (key, win, n) VALUES (?1, ?2, 1)
       ON CONFLICT (key) DO UPDATE SET n = CASE WHEN win = ?2 THEN n + 1 ELSE 1 END, win = ?2
       RETURNING n`,
    )
    .bind(key, win)
    .first<{ n: number }>();
  return { n: row?.n ?? 1, win };
}

/**
 * Counts one request of a token. Returns null while under the rate, else the seconds until the
 * window ends (the `Retry-After`).
 *
 * @example
 * ```ts
 * const wait = await takeRequest(env.DB, tokenHash, { now, maxRequests: 120 });
 * ```
 */
export async function takeRequest(
  db: D1Database,
  tokenHash: string,
  options: { now: number; maxRequests?: number },
): Promise<number | null> {
  const max = options.maxRequests ?? INGEST_RATE.maxRequests;
  const { n, win } = await bump(db, `rate:${tokenHash}`, {
    now: options.now,
    windowMs: INGEST_RATE.windowMs,
  });
  if (n <= max) return null;
  return Math.max(1, Math.ceil((win + INGEST_RATE.windowMs - options.now) / 1000));
}

/**
 * Seconds an address stays locked out, or null when it is not.
 *
 * @example
 * ```ts
 * const wait = await lockedOut(env.DB, ip, { now });
 * ```
 */
export async function lockedOut(
  db: D1Database,
  address: string,
  options: { now: number },
): Promise<number | null> {
  const row = await db
    .prepare("SELECT locked_until AS until FROM ingest_limits WHERE key = ?")
    .bind(`fail:${address}`)
    .first<{ until: number | null }>();
  if (!row?.until || row.until <= options.now) return null;
  return Math.ceil((row.until - options.now) / 1000);
}

/**
 * Records a failed authentication from an address; returns true when this failure locks it out.
 *
 * @example
 * ```ts
 * if (await failedAuth(env.DB, ip, { now })) await auditOnce(...);
 * ```
 */
export async function failedAuth(
  db: D1Database,
  address: string,
  options: { now: number },
): Promise<boolean> {
  const key = `fail:${address}`;
  const { n } = await bump(db, key, { now: options.now, windowMs: INGEST_LOCKOUT.windowMs });
  if (n !== INGEST_LOCKOUT.maxFailures) return false;
  await db
    .prepare("UPDATE ingest_limits SET locked_until = ? WHERE key = ?")
    .bind(options.now + INGEST_LOCKOUT.lockMs, key)
    .run();
  return true;
}

/**
 * True for the first refusal of a burst (same workspace, sender and reason within
 * {@link AUDIT_BURST_MS}): the one to audit. Workspace `null` (an unknown token) is audited
 * in no workspace.
 *
 * @example
 * ```ts
 * if (await firstOfBurst(env.DB, { ws, who: tokenHash, reason: "rate_limited", now })) await audit(...);
 * ```
 */
export async function firstOfBurst(
  db: D1Database,
  burst: { ws: string | null; who: string; reason: string; now: number },
): Promise<boolean> {
  const { n } = await bump(db, `audit:${burst.ws ?? ""}:${burst.who}:${burst.reason}`, {
    now: burst.now,
    windowMs: AUDIT_BURST_MS,
  });
  return n === 1;
}

/** Counts of refusals to add: request-level ones count requests, item-level ones traces. */
export interface RefusalCount {
  app: string;
  reason: string;
  unit: "request" | "trace";
  n: number;
}

/**
 * Adds refusals to the per-app, per-hour record Diagnostics reads.
 *
 * @example
 * ```ts
 * await countRefusals(env.DB, [{ app: "shop-api", reason: "app_mismatch", unit: "trace", n: 3 }], { now });
 * ```
 */
export async function countRefusals(
  db: D1Database,
  counts: readonly RefusalCount[],
  options: { now: number },
): Promise<void> {
  const bucket = Math.floor(options.now / HOUR_MS) * HOUR_MS;
  const live = counts.filter((c) => c.n > 0);
  if (!live.length) return;
  await db.batch(
    live.map((c) =>
      db
        .prepare(
          `INSERT INTO ingest_refusals (app, reason, unit, bucket, n, last_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (app, reason, bucket) DO UPDATE SET n = n + excluded.n, last_at = excluded.last_at`,
        )
        .bind(c.app, c.reason, c.unit, bucket, c.n, options.now),
    ),
  );
}

export interface RefusalRow {
  app: string;
  reason: string;
  unit: "request" | "trace";
  n: number;
  lastAt: number;
}

/**
 * What ingest refused for a workspace's apps since `from`, per app and reason, most first.
 *
 * @example
 * ```ts
 * const rows = await refusalsOf(env.DB, "acme", { from: now - 86_400_000 });
 * ```
 */
export async function refusalsOf(
  db: D1Database,
  ws: string,
  options: { from: number },
): Promise<RefusalRow[]> {
  const { results } = await db
    .prepare(
      `SELECT r.app, r.reason, r.unit, sum(r.n) AS n, max(r.last_at) AS lastAt
       FROM ingest_refusals r JOIN apps a ON a.name = r.app
       WHERE a.ws = ? AND r.bucket >= ? GROUP BY r.app, r.reason, r.unit ORDER BY r.app, n DESC`,
    )
    .bind(ws, Math.floor(options.from / HOUR_MS) * HOUR_MS)
    .all<RefusalRow>();
  return results;
}

/**
 * Drops counters past their windows and refusal counts older than `keepMs` (the cron does this).
 *
 * @example
 * ```ts
 * await pruneIngestLimits(env.DB, { now: Date.now() });
 * ```
 */
export async function pruneIngestLimits(
  db: D1Database,
  options: { now: number; keepMs?: number },
): Promise<void> {
  await db.batch([
    db
      .prepare(
        "DELETE FROM ingest_limits WHERE win < ? AND (locked_until IS NULL OR locked_until < ?)",
      )
      .bind(options.now - AUDIT_BURST_MS - HOUR_MS, options.now),
    db
      .prepare("DELETE FROM ingest_refusals WHERE bucket < ?")
      .bind(options.now - (options.keepMs ?? 30 * 86_400_000)),
  ]);
}
