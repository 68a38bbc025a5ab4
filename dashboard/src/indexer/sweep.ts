/**
 * The R2 sweep: lists `traces/<app>/` prefixes with custom metadata and indexes every object
 * after the last indexed key, looking back a window for traces written late (keys sort by start
 * time; a long request lands after shorter ones that started later). A full rebuild walks a
 * prefix from the start; it keeps its own position, so a cron run can finish it. Objects without
 * usable metadata are read with `readTrace` (the clear head; no key needed) or listed as skipped.
 * @module
 */
import { readTrace } from "fluxrun/trace";
import { rowFromMetadata, rowFromSummary, type ExecutionRow } from "../db/executions.js";
import { storeRows } from "./store.js";

export const TRACE_ROOT = "traces/";

/** `include` is missing from the oldest workers-types entry point; R2 has supported it since 2022-08-04. */
type R2ListWithMetadata = R2ListOptions & { include?: ("httpMetadata" | "customMetadata")[] };
const DEFAULT_LOOKBACK_MS = 5 * 60_000;
const PAGE = 1000;

export interface SweepOptions {
  now: number;
  /** Prefixes to sweep (`traces/<app>/`); default: every app prefix in the bucket. */
  prefixes?: readonly string[];
  /** Start these prefixes over from the beginning (an admin's rebuild). */
  rebuild?: boolean;
  /** List pages per prefix in this run; the rest continues on the next run. */
  maxPages?: number;
  lookbackMs?: number;
  defaultWorkspace?: string | undefined;
  /** Objects without metadata read in full, at most, per run. */
  maxReads?: number;
  /** Objects per list call (R2's maximum, 1000, by default). */
  pageSize?: number;
}

export interface SweepResult {
  prefixes: number;
  listed: number;
  inserted: number;
  skipped: number;
  /** False when a page budget ran out: the next run continues. */
  done: boolean;
}

/** Every `traces/<app>/` prefix in the bucket. */
export async function appPrefixes(bucket: R2Bucket): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({
      prefix: TRACE_ROOT,
      delimiter: "/",
      limit: PAGE,
      ...(cursor ? { cursor } : {}),
    });
    out.push(...page.delimitedPrefixes);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/** The R2 prefix of an app, as the runtime's traceKey names it. */
export function prefixOf(app: string): string {
  return `${TRACE_ROOT}${app.replace(/[^A-Za-z0-9._-]/g, "_")}/`;
}

const KEY_TIME = /^(\d{4}-\d{2}-\d{2})\/(\d{2})\/(\d{2})(\d{2})(\d{2})(\d{3})-/;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** The startAfter key that re-lists `lookbackMs` before `key` (keys sort by time within a prefix). */
export function lookbackKey(prefix: string, key: string, lookbackMs: number): string {
  const m = KEY_TIME.exec(key.slice(prefix.length));
  if (!m) return key;
  const t = Date.parse(`${m[1]}T${m[2]}:${m[4]}:${m[5]}.${m[6]}Z`) - lookbackMs;
  if (!Number.isFinite(t)) return key;
  const d = new Date(t);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const hh = pad(d.getUTCHours());
  return `${prefix}${day}/${hh}/${hh}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}

interface CursorRow {
  last_key: string | null;
  rebuild_key: string | null;
}

async function rowFor(
  bucket: R2Bucket,
  obj: R2Object,
  budget: { reads: number },
): Promise<ExecutionRow | string> {
  const row = rowFromMetadata(obj.customMetadata, obj.key);
  if (row) return row;
  if (!obj.key.endsWith(".cbor")) return "not a trace (.cbor) object";
  if (budget.reads <= 0) return "no summary metadata; read budget spent (next run retries)";
  budget.reads--;
  const body = await bucket.get(obj.key);
  if (!body) return "object deleted while indexing";
  try {
    const { head } = readTrace(new Uint8Array(await body.arrayBuffer()));
    return rowFromSummary(head.summary, obj.key, String(head.version));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return `unreadable trace: ${typeof code === "string" ? code : "ERR_TRACE_CORRUPT"}`;
  }
}

/**
 * Sweeps R2 into the index.
 *
 * @example
 * ```ts
 * await sweep(env.DB, env.FLUX_TRACES, { now: Date.now() });
 * ```
 */
export async function sweep(
  db: D1Database,
  bucket: R2Bucket,
  options: SweepOptions,
): Promise<SweepResult> {
  const prefixes = options.prefixes ?? (await appPrefixes(bucket));
  const maxPages = options.maxPages ?? 20;
  const lookback = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
  const budget = { reads: options.maxReads ?? 50 };
  const result: SweepResult = {
    prefixes: prefixes.length,
    listed: 0,
    inserted: 0,
    skipped: 0,
    done: true,
  };
  for (const prefix of prefixes) {
    if (options.rebuild) {
      await db
        .prepare(
          `INSERT INTO ingest_cursor (prefix, rebuild_key) VALUES (?, '')
           ON CONFLICT (prefix) DO UPDATE SET rebuild_key = ''`,
        )
        .bind(prefix)
        .run();
    }
    const cur = await db
      .prepare("SELECT last_key, rebuild_key FROM ingest_cursor WHERE prefix = ?")
      .bind(prefix)
      .first<CursorRow>();
    const rebuilding = cur?.rebuild_key !== null && cur?.rebuild_key !== undefined;
    let after: string | undefined = rebuilding
      ? cur.rebuild_key || undefined
      : cur?.last_key
        ? lookbackKey(prefix, cur.last_key, lookback)
        : undefined;
    let lastKey = cur?.last_key ?? null;
    // The look-back re-lists at most a quarter of the page budget, then jumps to the last key:
    // forward progress never depends on how busy the window was.
    let lookbackPages = rebuilding || !cur?.last_key ? 0 : Math.floor(maxPages / 4);
    if (!rebuilding && cur?.last_key && lookbackPages === 0) after = cur.last_key;
    let pages = 0;
    let finished = false;
    let stats = { indexed: 0, skipped: 0 };
    let error: string | null = null;
    try {
      while (pages < maxPages) {
        const listOptions: R2ListWithMetadata = {
          prefix,
          limit: options.pageSize ?? PAGE,
          include: ["customMetadata"],
          ...(after ? { startAfter: after } : {}),
        };
        const page = await bucket.list(listOptions);
        pages++;
        result.listed += page.objects.length;
        const rows: ExecutionRow[] = [];
        const skips: [string, string][] = [];
        for (const obj of page.objects) {
          const r = await rowFor(bucket, obj, budget);
          if (typeof r === "string") skips.push([obj.key, r]);
          else rows.push(r);
        }
        const inserted = await storeRows(db, rows, {
          now: options.now,
          defaultWorkspace: options.defaultWorkspace,
        });
        if (skips.length) {
          await db.batch(
            skips.map(([key, reason]) =>
              db
                .prepare(
                  "INSERT OR REPLACE INTO ingest_skips (r2_key, reason, at) VALUES (?, ?, ?)",
                )
                .bind(key, reason, options.now),
            ),
          );
        }
        result.inserted += inserted;
        result.skipped += skips.length;
        stats = { indexed: stats.indexed + inserted, skipped: stats.skipped + skips.length };
        const last = page.objects[page.objects.length - 1]?.key;
        if (last) {
          after = last;
          if (!lastKey || last > lastKey) lastKey = last;
          if (lookbackPages > 0 && cur?.last_key && last <= cur.last_key && --lookbackPages === 0) {
            after = cur.last_key;
          }
        }
        if (!page.truncated || !last) {
          finished = true;
          break;
        }
      }
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : "sweep failed";
    }
    if (!finished) result.done = false;
    await db
      .prepare(
        `INSERT INTO ingest_cursor (prefix, last_key, rebuild_key, swept_at, indexed, skipped, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (prefix) DO UPDATE SET last_key = ?2, rebuild_key = ?3, swept_at = ?4,
           indexed = indexed + ?5, skipped = skipped + ?6, last_error = ?7`,
      )
      .bind(
        prefix,
        lastKey,
        rebuilding && !finished ? (after ?? "") : null,
        options.now,
        stats.indexed,
        stats.skipped,
        error,
      )
      .run();
  }
  return result;
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
