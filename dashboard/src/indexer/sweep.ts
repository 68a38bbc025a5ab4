/**
 * The R2 sweep: lists `traces/<app>/` prefixes with custom metadata and indexes every object
 * after the last indexed key, looking back a window for traces written late (keys sort by start
 * time; a long request lands after shorter ones that started later). A full rebuild walks a
 * prefix from the start; it keeps its own position, so a cron run can finish it. Objects without
 * usable metadata are read with `readTrace` (the clear head; no key needed) or listed as skipped.
 * @module
 */
import { keyBefore, parseTraceKey, TRACE_ROOT, traceKey } from "fluxrun/contract";
import { readTrace, type OriginKeys } from "fluxrun/trace";
import { rowFromHead, rowFromMetadata, type ExecutionRow } from "../db/executions.js";
import { readCursor, recordSkips, saveCursor, startRebuild } from "../db/index-state.js";
import { storeRows } from "./store.js";
import { originOf, signedAt } from "./origin.js";

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
  /** Registered trace verification keys: a signed app's traces are read and verified. */
  originKeys?: OriginKeys;
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

/** The startAfter key that re-lists `lookbackMs` before `key` (keys sort by time within a prefix). */
export function lookbackKey(key: string, lookbackMs: number): string {
  const parts = parseTraceKey(key);
  return parts ? keyBefore(parts.app, parts.start - lookbackMs) : key;
}

async function rowFor(
  bucket: R2Bucket,
  obj: R2Object,
  budget: { reads: number },
  keys: OriginKeys,
): Promise<ExecutionRow | string> {
  // Metadata is not authenticated: a signed app's traces are read and verified.
  if (!signedAt(keys, obj.key)) {
    const row = rowFromMetadata(obj.customMetadata, obj.key);
    if (row) return row;
  }
  if (!obj.key.endsWith(".cbor")) return "not a trace (.cbor) object";
  if (budget.reads <= 0) return "not read yet; read budget spent (next run retries)";
  budget.reads--;
  const body = await bucket.get(obj.key);
  if (!body) return "object deleted while indexing";
  const bytes = new Uint8Array(await body.arrayBuffer());
  try {
    const { head } = readTrace(bytes);
    if (traceKey(head.summary) !== obj.key) return "not the trace its key names: stored by hand";
    const origin = await originOf(bytes, keys);
    if (!origin.ok) return `refused trace: ${origin.code}`;
    return rowFromHead(head, obj.key, origin.status);
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
    if (options.rebuild) await startRebuild(db, prefix);
    const cur = await readCursor(db, prefix);
    const rebuilding = cur?.rebuildKey !== null && cur?.rebuildKey !== undefined;
    let after: string | undefined = rebuilding
      ? cur.rebuildKey || undefined
      : cur?.lastKey
        ? lookbackKey(cur.lastKey, lookback)
        : undefined;
    let lastKey = cur?.lastKey ?? null;
    // The look-back re-lists at most a quarter of the page budget, then jumps to the last key:
    // forward progress never depends on how busy the window was.
    let lookbackPages = rebuilding || !cur?.lastKey ? 0 : Math.floor(maxPages / 4);
    if (!rebuilding && cur?.lastKey && lookbackPages === 0) after = cur.lastKey;
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
        const skips: { key: string; reason: string }[] = [];
        for (const obj of page.objects) {
          const r = await rowFor(bucket, obj, budget, options.originKeys ?? {});
          if (typeof r === "string") skips.push({ key: obj.key, reason: r });
          else rows.push(r);
        }
        const inserted = (
          await storeRows(db, rows, {
            now: options.now,
            defaultWorkspace: options.defaultWorkspace,
          })
        ).size;
        await recordSkips(db, skips, options.now);
        result.inserted += inserted;
        result.skipped += skips.length;
        stats = { indexed: stats.indexed + inserted, skipped: stats.skipped + skips.length };
        const last = page.objects[page.objects.length - 1]?.key;
        if (last) {
          after = last;
          if (!lastKey || last > lastKey) lastKey = last;
          if (lookbackPages > 0 && cur?.lastKey && last <= cur.lastKey && --lookbackPages === 0) {
            after = cur.lastKey;
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
    await saveCursor(db, prefix, {
      lastKey,
      rebuildKey: rebuilding && !finished ? (after ?? "") : null,
      at: options.now,
      indexed: stats.indexed,
      skipped: stats.skipped,
      error,
    });
  }
  return result;
}

export { cursorStatus, type CursorStatus } from "../db/index-state.js";
